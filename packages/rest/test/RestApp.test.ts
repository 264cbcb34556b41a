/**
 * The REST app in process (`app.request`, no socket) over PGlite and, when configured, the
 * real Postgres: every route, status and error code, ETags and preconditions, CORS and
 * request ids, and isolation between two users on every route.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Authenticator } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { RestApp } from "@taskport/rest"
import { makeApp, send, servicesLayer, TEST_SECRET, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer, Logger, Redacted, References } from "effect"
import { SqlClient } from "effect/sql"
import { SignJWT } from "jose"

type Json = Record<string, unknown>
const asJson = (value: unknown) => value as Json
const errorCode = (value: unknown) => asJson(asJson(value).error).code

for (const database of testDatabases()) {
  describe(`REST on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000 })((it) => {
      const setup = Effect.gen(function* () {
        const app = yield* makeApp()
        const user = newUser()
        const token = yield* tokenFor(user)
        return { app, user, token }
      })

      it.effect("R20: create answers 201 with Location, ETag and the stored task", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const reply = yield* send(app, "POST", "/api/v1/tasks", {
            token,
            body: { title: "  Buy milk ", tags: ["Shop", "shop"], priority: "high", due: "2026-12-01" }
          })
          expect(reply.status, JSON.stringify(reply.body)).toBe(201)
          const task = asJson(reply.body)
          expect(task).toMatchObject({
            title: "Buy milk",
            tags: ["shop"],
            priority: "high",
            due: "2026-12-01",
            version: 1
          })
          expect(reply.headers.get("location")).toBe(`/api/v1/tasks/${task.id}`)
          expect(reply.headers.get("etag")).toBe('"v1"')
          const read = yield* send(app, "GET", `/api/v1/tasks/${task.id}`, { token })
          expect(read.status).toBe(200)
          expect(read.body).toEqual(task)
        })
      )

      it.effect("R21: bad input answers 400 naming the field and the rule, and writes nothing", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const reply = yield* send(app, "POST", "/api/v1/tasks", {
            token,
            body: { title: "", priority: "urgent" }
          })
          expect(reply.status).toBe(400)
          const error = asJson(asJson(reply.body).error)
          expect(error.code).toBe("invalid_request")
          const issues = asJson(error.details).issues as Array<{ field: string; message: string }>
          expect(issues.map((issue) => issue.field)).toEqual(expect.arrayContaining(["title", "priority"]))
          expect(String(error.message)).toContain("title")
          const list = yield* send(app, "GET", "/api/v1/tasks", { token })
          expect(asJson(list.body).items).toEqual([])

          const badQuery = yield* send(app, "GET", "/api/v1/tasks?limit=0", { token })
          expect(badQuery.status).toBe(400)
          expect(JSON.stringify(badQuery.body)).toContain("limit")
          const badId = yield* send(app, "GET", "/api/v1/tasks/abc", { token })
          expect(badId.status).toBe(400)
          expect(JSON.stringify(badId.body)).toContain('"field":"id"')
          const badJson = yield* send(app, "POST", "/api/v1/tasks", { token, body: "{not json" })
          expect(badJson.status).toBe(400)
          expect(errorCode(badJson.body)).toBe("invalid_json")
          const notObject = yield* send(app, "POST", "/api/v1/tasks", { token, body: "[1,2]" })
          expect(notObject.status).toBe(400)
          const badCursor = yield* send(app, "GET", "/api/v1/tasks?cursor=nonsense", { token })
          expect(badCursor.status).toBe(400)
          expect(JSON.stringify(badCursor.body)).toContain("cursor")
        })
      )

      it.effect("R22: list filters, sorts and pages with next_cursor", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          for (const [title, priority] of [
            ["a", "low"],
            ["b", "high"],
            ["c", "medium"],
            ["d", "high"]
          ] as const) {
            yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title, priority, tags: [title === "b" ? "x" : "y"] }
            })
          }
          const high = yield* send(app, "GET", "/api/v1/tasks?priority=high&sort=title", { token })
          expect((asJson(high.body).items as Array<Json>).map((t) => t.title)).toEqual(["b", "d"])
          const tagged = yield* send(app, "GET", "/api/v1/tasks?tag=X", { token })
          expect((asJson(tagged.body).items as Array<Json>).map((t) => t.title)).toEqual(["b"])
          const seen: Array<unknown> = []
          let cursor: unknown = null
          do {
            const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(String(cursor))}`
            const page = yield* send(app, "GET", `/api/v1/tasks?sort=title&limit=3${query}`, { token })
            expect(page.status).toBe(200)
            seen.push(...(asJson(page.body).items as Array<Json>).map((t) => t.title))
            cursor = asJson(page.body).next_cursor
          } while (cursor !== null)
          expect(seen).toEqual(["a", "b", "c", "d"])
        })
      )

      it.effect("R23: ETag, If-None-Match 304, If-Match 412 with nothing written", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const created = asJson(
            (yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "t" } })).body
          )
          const path = `/api/v1/tasks/${created.id}`
          const notModified = yield* send(app, "GET", path, { token, headers: { "if-none-match": '"v1"' } })
          expect(notModified.status).toBe(304)
          expect(notModified.text).toBe("")
          const patched = yield* send(app, "PATCH", path, {
            token,
            body: { title: "u" },
            headers: { "if-match": '"v1"' }
          })
          expect(patched.status).toBe(200)
          expect(patched.headers.get("etag")).toBe('"v2"')
          const stale = yield* send(app, "PATCH", path, {
            token,
            body: { title: "v" },
            headers: { "if-match": '"v1"' }
          })
          expect(stale.status).toBe(412)
          expect(errorCode(stale.body)).toBe("precondition_failed")
          const stalePut = yield* send(app, "PUT", path, {
            token,
            body: { title: "w" },
            headers: { "if-match": '"v1"' }
          })
          expect(stalePut.status).toBe(412)
          const garbage = yield* send(app, "PATCH", path, {
            token,
            body: { title: "v" },
            headers: { "if-match": "nonsense" }
          })
          expect(garbage.status).toBe(412)
          const current = asJson((yield* send(app, "GET", path, { token })).body)
          expect(current).toMatchObject({ title: "u", version: 2 })
          const modified = yield* send(app, "GET", path, { token, headers: { "if-none-match": '"v1"' } })
          expect(modified.status).toBe(200)
        })
      )

      it.effect("R24: expected_version in the body answers 409 version_conflict", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const created = asJson(
            (yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "t" } })).body
          )
          const reply = yield* send(app, "PATCH", `/api/v1/tasks/${created.id}`, {
            token,
            body: { title: "x", expected_version: 7 }
          })
          expect(reply.status).toBe(409)
          expect(asJson(reply.body).error).toMatchObject({
            code: "version_conflict",
            details: { current_version: 1 }
          })
        })
      )

      it.effect("R25: PUT replaces the editable fields, PATCH changes only the named ones", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const created = asJson(
            (yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title: "t", description: "d", priority: "high", tags: ["a"], due: "2026-01-02" }
            })).body
          )
          const path = `/api/v1/tasks/${created.id}`
          const patched = asJson(
            (yield* send(app, "PATCH", path, { token, body: { description: null } })).body
          )
          expect(patched).toMatchObject({
            title: "t",
            description: null,
            priority: "high",
            tags: ["a"],
            due: "2026-01-02"
          })
          const replaced = asJson((yield* send(app, "PUT", path, { token, body: { title: "new" } })).body)
          expect(replaced).toMatchObject({
            title: "new",
            description: null,
            priority: "medium",
            tags: [],
            due: null,
            version: 3
          })
          const missingTitle = yield* send(app, "PUT", path, { token, body: { priority: "low" } })
          expect(missingTitle.status).toBe(400)
          expect(JSON.stringify(missingTitle.body)).toContain('"field":"title"')
        })
      )

      it.effect(
        "R26: complete is idempotent, reopens with completed false; delete answers 204 then 404",
        () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            const created = asJson(
              (yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "t" } })).body
            )
            const path = `/api/v1/tasks/${created.id}`
            const done = asJson((yield* send(app, "POST", `${path}/complete`, { token })).body)
            expect(done).toMatchObject({ completed: true, version: 2 })
            expect(done.completed_at).toEqual(expect.any(String))
            const again = asJson((yield* send(app, "POST", `${path}/complete`, { token, body: {} })).body)
            expect(again).toMatchObject({ completed: true, version: 2 })
            const reopened = asJson(
              (yield* send(app, "POST", `${path}/complete`, { token, body: { completed: false } })).body
            )
            expect(reopened).toMatchObject({ completed: false, completed_at: null, version: 3 })
            expect((yield* send(app, "DELETE", path, { token })).status).toBe(204)
            const gone = yield* send(app, "DELETE", path, { token })
            expect(gone.status).toBe(404)
            expect(asJson(gone.body).error).toEqual({
              code: "not_found",
              message: `Task ${created.id} not found`
            })
          })
      )

      it.effect("R27: another user's task is a 404 on every route and never listed", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const intruder = yield* tokenFor(newUser())
          const created = asJson(
            (yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "private" } })).body
          )
          const path = `/api/v1/tasks/${created.id}`
          const attempts = [
            send(app, "GET", path, { token: intruder }),
            send(app, "PATCH", path, { token: intruder, body: { title: "mine" } }),
            send(app, "PUT", path, { token: intruder, body: { title: "mine" } }),
            send(app, "POST", `${path}/complete`, { token: intruder }),
            send(app, "DELETE", path, { token: intruder })
          ]
          for (const attempt of attempts) {
            const reply = yield* attempt
            expect(reply.status).toBe(404)
            expect(asJson(reply.body).error).toEqual({
              code: "not_found",
              message: `Task ${created.id} not found`
            })
          }
          const missing = yield* send(app, "GET", "/api/v1/tasks/999999999", { token: intruder })
          expect(asJson(missing.body).error).toEqual({
            code: "not_found",
            message: "Task 999999999 not found"
          })
          const list = yield* send(app, "GET", "/api/v1/tasks?status=all", { token: intruder })
          expect(asJson(list.body).items).toEqual([])
          const owner = asJson((yield* send(app, "GET", path, { token })).body)
          expect(owner).toMatchObject({ title: "private", version: 1, completed: false })
        })
      )

      it.effect("R28: path-style routes serve the token's user and refuse any other with 403", () =>
        Effect.gen(function* () {
          const { app, user, token } = yield* setup
          const created = yield* send(app, "POST", `/api/${user}/tasks`, { token, body: { title: "t" } })
          expect(created.status).toBe(201)
          expect(created.headers.get("location")).toBe(`/api/${user}/tasks/${asJson(created.body).id}`)
          const listed = yield* send(app, "GET", `/api/${user}/tasks`, { token })
          expect((asJson(listed.body).items as Array<unknown>).length).toBe(1)
          const other = yield* send(app, "GET", `/api/someone-else/tasks`, { token })
          expect(other.status).toBe(403)
          expect(errorCode(other.body)).toBe("forbidden")
          const otherWrite = yield* send(app, "POST", `/api/someone-else/tasks`, {
            token,
            body: { title: "x" }
          })
          expect(otherWrite.status).toBe(403)
        })
      )

      it.effect("R29: 401 with a Bearer challenge for missing, malformed and expired tokens", () =>
        Effect.gen(function* () {
          const { app } = yield* setup
          const missing = yield* send(app, "GET", "/api/v1/tasks")
          expect(missing.status).toBe(401)
          expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer /)
          expect(errorCode(missing.body)).toBe("unauthenticated")
          const malformed = yield* send(app, "GET", "/api/v1/tasks", { token: "not-a-jwt" })
          expect(malformed.status).toBe(401)
          expect(malformed.headers.get("www-authenticate")).toContain('error="invalid_token"')
          const stale = yield* Effect.promise(() =>
            new SignJWT({ sub: newUser() })
              .setProtectedHeader({ alg: "HS256" })
              .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
              .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
              .sign(new TextEncoder().encode(Redacted.value(TEST_SECRET)))
          )
          const expired = yield* send(app, "GET", "/api/v1/tasks", { token: stale })
          expect(expired.status).toBe(401)
          expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"')
          expect(expired.text).not.toContain(stale)
          const basic = yield* send(app, "GET", "/api/v1/tasks", {
            headers: { authorization: "Basic dXNlcjpwYXNz" }
          })
          expect(basic.status).toBe(401)
        })
      )

      it.effect("R30: 413 above 1 MiB, 415 for non-JSON bodies, 405 and 404 for unknown routes", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const big = yield* send(app, "POST", "/api/v1/tasks", {
            token,
            body: JSON.stringify({ title: "x".repeat(1_100_000) })
          })
          expect(big.status).toBe(413)
          expect(errorCode(big.body)).toBe("payload_too_large")
          const text = yield* send(app, "POST", "/api/v1/tasks", {
            token,
            body: "title=x",
            headers: { "content-type": "application/x-www-form-urlencoded" }
          })
          expect(text.status).toBe(415)
          const noBody = yield* send(app, "POST", "/api/v1/tasks", { token })
          expect(noBody.status).toBe(415)
          const method = yield* send(app, "DELETE", "/api/v1/tasks", { token })
          expect(method.status).toBe(405)
          expect(method.headers.get("allow")).toBe("GET, HEAD, POST")
          const unknown = yield* send(app, "GET", "/api/v1/nothing-here", { token })
          expect(unknown.status).toBe(404)
          expect(errorCode(unknown.body)).toBe("not_found")
        })
      )

      it.effect(
        "R31: X-Request-Id is echoed or generated; CORS allows the configured origin with credentials",
        () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            const echoed = yield* send(app, "GET", "/api/v1/tasks", {
              token,
              headers: { "x-request-id": "req-123" }
            })
            expect(echoed.headers.get("x-request-id")).toBe("req-123")
            const generated = yield* send(app, "GET", "/api/v1/tasks", {
              token,
              headers: { "x-request-id": "bad id with spaces" }
            })
            expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
            const preflight = yield* send(app, "OPTIONS", "/api/v1/tasks", {
              headers: {
                origin: "http://localhost:3000",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type"
              }
            })
            expect(preflight.status).toBeLessThan(300)
            expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:3000")
            expect(preflight.headers.get("access-control-allow-credentials")).toBe("true")
            expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
              "authorization"
            )
            const foreign = yield* send(app, "GET", "/api/v1/tasks", {
              token,
              headers: { origin: "https://evil.example" }
            })
            expect(foreign.headers.get("access-control-allow-origin")).toBeNull()
          })
      )

      it.effect("R32: health, readiness and the documentation need no token", () =>
        Effect.gen(function* () {
          const { app } = yield* setup
          expect((yield* send(app, "GET", "/health")).body).toEqual({ status: "ok" })
          expect((yield* send(app, "GET", "/ready")).status).toBe(200)
          const docs = yield* send(app, "GET", "/docs")
          expect(docs.status).toBe(200)
          expect(docs.text).toContain("/docs/assets/swagger-ui-bundle.js")
          expect(docs.text).not.toMatch(/https?:\/\/(?!127|localhost)/)
          const asset = yield* send(app, "GET", "/docs/assets/swagger-ui-bundle.js")
          expect(asset.status).toBe(200)
          expect((yield* send(app, "GET", "/docs/assets/..%2Fpackage.json")).status).toBe(404)
          const spec = yield* send(app, "GET", "/api/v1/openapi.json")
          expect(asJson(spec.body).openapi).toBe("3.1.0")
        })
      )

      it.effect("R33: a failing readiness check answers 503 with Retry-After", () =>
        Effect.gen(function* () {
          const app = yield* makeApp({ ready: Effect.fail("database down") })
          const reply = yield* send(app, "GET", "/ready")
          expect(reply.status).toBe(503)
          expect(reply.headers.get("retry-after")).toBe("2")
        })
      )
    })
  })
}

describe("REST failure mapping", () => {
  layer(servicesLayer(PgDatabase.layerPglite()), { timeout: 120_000 })((it) => {
    it.effect("R34: a defect answers 500 with only a request id, and the cause is logged", () =>
      Effect.gen(function* () {
        const logged: Array<Record<string, unknown>> = []
        const boom = () => Effect.die(new Error("boom: SELECT * FROM tasks WHERE secret = 'hunter2'"))
        const app = yield* makeApp({ log: (entry) => logged.push(entry) }).pipe(
          Effect.provideService(Authenticator, { authenticate: boom, verify: boom })
        )
        const reply = yield* send(app, "GET", "/api/v1/tasks", { token: "anything" })
        expect(reply.status).toBe(500)
        const error = asJson(asJson(reply.body).error)
        expect(Object.keys(error).sort()).toEqual(["code", "message", "request_id"])
        expect(reply.text).not.toContain("SELECT")
        expect(reply.text).not.toContain("hunter2")
        expect(error.request_id).toBe(reply.headers.get("x-request-id"))
        expect(logged.some((entry) => entry.level === "error" && String(entry.cause).includes("boom"))).toBe(
          true
        )
      })
    )
  })

  layer(servicesLayer(PgDatabase.layerPglite()), { timeout: 120_000 })((it) => {
    it.effect(
      "R34: a statement the database refuses answers 500 with a request id, no SQL, and is logged",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const logged: Array<Record<string, unknown>> = []
          // What the layers below log through Effect, with the annotations the app adds.
          const effectLogs: Array<Record<string, unknown>> = []
          const capture = Logger.layer([
            Logger.make((options) =>
              effectLogs.push({
                msg: options.message,
                ...options.fiber.getRef(References.CurrentLogAnnotations)
              })
            )
          ])
          const app = yield* RestApp.make({ log: (entry) => logged.push(entry) }).pipe(
            Effect.provide(capture)
          )
          const token = yield* tokenFor(newUser())
          // A real refusal, not a retryable outage: the table the statement names is gone.
          yield* sql`DROP TABLE tasks`
          const reply = yield* send(app, "GET", "/api/v1/tasks", { token })
          expect(reply.status).toBe(500)
          const error = asJson(asJson(reply.body).error)
          expect(error.code).toBe("internal_error")
          expect(error.request_id).toBe(reply.headers.get("x-request-id"))
          expect(reply.text).not.toMatch(/select|from tasks|relation|does not exist|42P01/i)
          expect(
            logged.some((entry) => entry.level === "error" && entry.request_id === error.request_id)
          ).toBe(true)
          // The operator's line names the request, the SQLSTATE and the server's message.
          expect(effectLogs).toContainEqual(
            expect.objectContaining({
              request_id: error.request_id,
              sqlstate: "42P01",
              db_message: expect.stringContaining("does not exist")
            })
          )
        })
    )
  })

  // The pool connects lazily, so the app starts and each request meets the outage.
  const unreachable = PgDatabase.layer({
    url: Redacted.make("postgres://postgres@127.0.0.1:1/none"),
    migrate: false
  })
  layer(Layer.orDie(servicesLayer(unreachable)), { timeout: 60_000 })((it) => {
    it.effect("R35: an unreachable database answers 503 service_unavailable with Retry-After, no SQL", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const app = yield* RestApp.make({ log: () => {}, ready: sql`SELECT 1` })
        const token = yield* tokenFor(newUser())
        const reply = yield* send(app, "GET", "/api/v1/tasks", { token })
        expect(reply.status).toBe(503)
        expect(errorCode(reply.body)).toBe("service_unavailable")
        expect(reply.headers.get("retry-after")).toBe("2")
        expect(reply.text).not.toMatch(/select|from tasks|127\.0\.0\.1/i)
        const ready = yield* send(app, "GET", "/ready")
        expect(ready.status).toBe(503)
      })
    )
  })
})
