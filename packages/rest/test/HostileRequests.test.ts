/**
 * Requests an attacker would send to the REST app: cursors with the right shape and a bad
 * value inside, task ids in non-canonical spellings, percent-encoded user ids in the path,
 * HEAD on read routes, and the headers that keep browsers from reinterpreting answers.
 */
import { describe, expect, layer } from "@effect/vitest"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect } from "effect"

type Json = Record<string, unknown>
const asJson = (value: unknown) => value as Json
const errorOf = (value: unknown) => asJson(asJson(value).error)
const cursorOf = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString("base64url")

for (const database of testDatabases()) {
  describe(`hostile REST requests on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000 })((it) => {
      const setup = Effect.gen(function* () {
        const app = yield* makeApp()
        const user = `user-${crypto.randomUUID()}`
        return { app, user, token: yield* tokenFor(user) }
      })

      it.effect("G2: a task cursor with a bad value inside is a 400 naming cursor, never a 500", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const bad: ReadonlyArray<readonly [string, unknown]> = [
            ["created_at", { s: "created_at", o: "desc", k: "not a timestamp", i: 1 }],
            ["created_at", { s: "created_at", o: "desc", k: "2026-13-45T99:99:99.999Z", i: 1 }],
            ["created_at", { s: "created_at", o: "desc", k: "2026-01-01T00:00:00.000Z", i: 2 ** 40 }],
            ["created_at", { s: "created_at", o: "desc", k: "2026-01-01T00:00:00.000Z", i: -1 }],
            ["due", { s: "due", o: "asc", k: "tomorrow", i: 1 }],
            ["priority", { s: "priority", o: "desc", k: 70000, i: 1 }],
            ["priority", { s: "priority", o: "desc", k: "high", i: 1 }],
            ["title", { s: "title", o: "asc", k: "a\u0000b", i: 1 }],
            ["title", { s: "title", o: "asc", k: 5, i: 1 }]
          ]
          for (const [sort, payload] of bad) {
            const reply = yield* send(app, "GET", `/api/v1/tasks?sort=${sort}&cursor=${cursorOf(payload)}`, {
              token
            })
            expect(reply.status, `${JSON.stringify(payload)}: ${reply.text}`).toBe(400)
            expect(reply.text).toContain("cursor")
          }
          // A cursor the listing handed out still works.
          for (const title of ["a", "b", "c"])
            yield* send(app, "POST", "/api/v1/tasks", { token, body: { title } })
          for (const sort of ["created_at", "updated_at", "due", "priority", "title"]) {
            const first = yield* send(app, "GET", `/api/v1/tasks?sort=${sort}&limit=1`, { token })
            const next = asJson(first.body).next_cursor as string
            const second = yield* send(app, "GET", `/api/v1/tasks?sort=${sort}&limit=1&cursor=${next}`, {
              token
            })
            expect(second.status, second.text).toBe(200)
          }
        })
      )

      it.effect("G2: a conversation or message cursor with a bad value inside is a 400, never a 500", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          for (const payload of [
            { u: "yesterday", i: crypto.randomUUID() },
            { u: "2026-01-01T00:00:00.000Z", i: "not-a-uuid" },
            { u: "2026-01-01T00:00:00.000Z\u0000", i: crypto.randomUUID() }
          ]) {
            const reply = yield* send(app, "GET", `/api/v1/conversations?cursor=${cursorOf(payload)}`, {
              token
            })
            expect(reply.status, reply.text).toBe(400)
            expect(reply.text).toContain("cursor")
          }
          const chat = yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "list my tasks" } })
          const conversation = asJson(chat.body).conversation_id as string
          for (const m of [2 ** 40, 0, -5]) {
            const reply = yield* send(
              app,
              "GET",
              `/api/v1/conversations/${conversation}/messages?cursor=${cursorOf({ m })}`,
              { token }
            )
            expect(reply.status, reply.text).toBe(400)
          }
        })
      )

      it.effect("G8: only the canonical spelling of a task id names a task", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const created = yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "canon" } })
          const id = asJson(created.body).id as number
          expect((yield* send(app, "GET", `/api/v1/tasks/${id}`, { token })).status).toBe(200)
          for (const alias of [`0${id}`, `+${id}`, `${id}.0`, `${id}e0`, " 1", "0x1", "1e2"]) {
            const reply = yield* send(app, "GET", `/api/v1/tasks/${encodeURIComponent(alias)}`, { token })
            expect(reply.status, alias).toBe(400)
            expect(errorOf(reply.body).message).toContain("id")
          }
        })
      )

      it.effect("G9: HEAD on a GET route answers as GET would, without a body", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const head = yield* send(app, "HEAD", "/api/v1/tasks", { token })
          expect(head.status).toBe(200)
          expect(head.text).toBe("")
          expect((yield* send(app, "HEAD", "/health")).status).toBe(200)
          expect((yield* send(app, "HEAD", "/api/v1/tasks")).status).toBe(401)
          const post = yield* send(app, "PUT", "/api/v1/tasks", { token })
          expect(post.status).toBe(405)
          expect(post.headers.get("allow")).toContain("HEAD")
        })
      )

      it.effect("G11: /api/{user_id} compares the percent-decoded segment with the token's user", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          for (const user of ["zoë@example.com", "team/alice", "名前 with space"]) {
            const token = yield* tokenFor(user)
            const path = `/api/${encodeURIComponent(user)}/tasks`
            const created = yield* send(app, "POST", path, { token, body: { title: "mine" } })
            expect(created.status, created.text).toBe(201)
            expect((yield* send(app, "GET", path, { token })).status).toBe(200)
            const other = yield* send(app, "GET", `/api/${encodeURIComponent(`${user}x`)}/tasks`, { token })
            expect(other.status).toBe(403)
          }
          const { token } = yield* setup
          // Broken percent-encoding names nobody: refused, never served as someone.
          expect([400, 403]).toContain((yield* send(app, "GET", "/api/%E0%A4%A/tasks", { token })).status)
        })
      )

      it.effect(
        "G13: answers carry nosniff; /docs forbids framing and foreign scripts and stores no token",
        () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            // A browser's request (it names its origin) and any other get the same headers.
            for (const headers of [{}, { origin: "https://elsewhere.example" }]) {
              for (const reply of [
                yield* send(app, "GET", "/api/v1/tasks", { token, headers }),
                yield* send(app, "HEAD", "/api/v1/tasks", { token, headers }),
                yield* send(app, "GET", "/api/v1/tasks", { headers }),
                yield* send(app, "GET", "/health", { headers }),
                yield* send(app, "GET", "/nowhere", { headers })
              ]) {
                expect(reply.headers.get("x-content-type-options")).toBe("nosniff")
                expect(reply.headers.get("x-request-id")).toMatch(/^[\w-]{36}$/)
                expect(reply.headers.get("content-type")).toMatch(/^application\/json/)
              }
            }
            const docs = yield* send(app, "GET", "/docs")
            expect(docs.status).toBe(200)
            const csp = docs.headers.get("content-security-policy") ?? ""
            expect(csp).toContain("frame-ancestors 'none'")
            expect(csp).toContain("script-src 'self'")
            expect(docs.headers.get("x-frame-options")).toBe("DENY")
            expect(docs.text).not.toContain("persistAuthorization: true")
            expect(docs.text).not.toMatch(/<script>(?!<\/script>)/)
          })
      )
    })
  })
}
