/**
 * Safe writes over REST, on PGlite and (when configured) the real Postgres: the trash and
 * restore, If-Match on every write, and the Idempotency-Key header (replay, refusal of another
 * request, per-user keys, expiry, a key still in flight, CORS).
 */
import { describe, expect, layer } from "@effect/vitest"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Deferred, Effect, Fiber } from "effect"
import { SqlClient } from "effect/sql"

type Json = Record<string, unknown>
const asJson = (value: unknown) => value as Json
const errorOf = (value: unknown) => asJson(asJson(value).error)

for (const database of testDatabases()) {
  describe(`REST safe writes on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000 })((it) => {
      const setup = Effect.gen(function* () {
        const app = yield* makeApp()
        const token = yield* tokenFor(newUser())
        const create = (title: string) =>
          Effect.map(send(app, "POST", "/api/v1/tasks", { token, body: { title } }), (reply) =>
            asJson(reply.body)
          )
        const ids = (path: string) =>
          Effect.map(send(app, "GET", path, { token }), (reply) =>
            (asJson(reply.body).items as Array<Json>).map((task) => task.id)
          )
        return { app, token, create, ids }
      })

      it.effect(
        "W1: DELETE moves a task to the trash: gone from reads, updates and listings, shown by status=trashed",
        () =>
          Effect.gen(function* () {
            const { app, token, create, ids } = yield* setup
            const task = yield* create("Buy milk")
            const deleted = yield* send(app, "DELETE", `/api/v1/tasks/${task.id}`, { token })
            expect(deleted.status).toBe(204)
            expect((yield* send(app, "GET", `/api/v1/tasks/${task.id}`, { token })).status).toBe(404)
            const patch = yield* send(app, "PATCH", `/api/v1/tasks/${task.id}`, {
              token,
              body: { title: "x" }
            })
            expect(patch.status).toBe(404)
            expect((yield* send(app, "DELETE", `/api/v1/tasks/${task.id}`, { token })).status).toBe(404)
            expect(yield* ids("/api/v1/tasks")).toEqual([])
            expect(yield* ids("/api/v1/tasks?status=trashed")).toEqual([task.id])
          })
      )

      it.effect(
        "W2: restore answers the task as it was at version + 1; permanent=true removes only a trashed task",
        () =>
          Effect.gen(function* () {
            const { app, token, create, ids } = yield* setup
            const task = yield* create("Call the plumber")
            // A live task is not purged by a permanent delete: it must be in the trash first.
            const early = yield* send(app, "DELETE", `/api/v1/tasks/${task.id}?permanent=true`, { token })
            expect(early.status).toBe(404)
            yield* send(app, "DELETE", `/api/v1/tasks/${task.id}`, { token })
            const restored = yield* send(app, "POST", `/api/v1/tasks/${task.id}/restore`, { token })
            expect(restored.status).toBe(200)
            expect(restored.body).toEqual({
              ...task,
              version: 2,
              updated_at: asJson(restored.body).updated_at
            })
            expect(restored.headers.get("etag")).toBe('"v2"')
            expect(yield* ids("/api/v1/tasks")).toEqual([task.id])
            expect((yield* send(app, "POST", `/api/v1/tasks/${task.id}/restore`, { token })).status).toBe(404)

            yield* send(app, "DELETE", `/api/v1/tasks/${task.id}`, { token })
            const purged = yield* send(app, "DELETE", `/api/v1/tasks/${task.id}?permanent=true`, { token })
            expect(purged.status).toBe(204)
            expect(yield* ids("/api/v1/tasks?status=trashed")).toEqual([])
            expect((yield* send(app, "POST", `/api/v1/tasks/${task.id}/restore`, { token })).status).toBe(404)
            const bad = yield* send(app, "DELETE", `/api/v1/tasks/${task.id}?permanent=maybe`, { token })
            expect(bad.status).toBe(400)
            expect(JSON.stringify(bad.body)).toContain("permanent")
          })
      )

      it.effect("W3: a stale If-Match on delete, complete and restore answers 412 and writes nothing", () =>
        Effect.gen(function* () {
          const { app, token, create, ids } = yield* setup
          const task = yield* create("Guarded")
          const stale = { "if-match": '"v7"' }
          for (const [method, path] of [
            ["DELETE", `/api/v1/tasks/${task.id}`],
            ["POST", `/api/v1/tasks/${task.id}/complete`]
          ] as const) {
            const reply = yield* send(app, method, path, { token, headers: stale })
            expect(reply.status, path).toBe(412)
            expect(errorOf(reply.body).code).toBe("precondition_failed")
            expect(errorOf(reply.body).details).toEqual({ current_version: 1 })
          }
          expect((yield* send(app, "GET", `/api/v1/tasks/${task.id}`, { token })).body).toEqual(task)
          const deleted = yield* send(app, "DELETE", `/api/v1/tasks/${task.id}`, {
            token,
            headers: { "if-match": '"v1"' }
          })
          expect(deleted.status).toBe(204)
          const restore = yield* send(app, "POST", `/api/v1/tasks/${task.id}/restore`, {
            token,
            headers: stale
          })
          expect(restore.status).toBe(412)
          expect(yield* ids("/api/v1/tasks?status=trashed")).toEqual([task.id])
          const ok = yield* send(app, "POST", `/api/v1/tasks/${task.id}/restore`, {
            token,
            headers: { "if-match": '"v1"' }
          })
          expect(ok.status).toBe(200)
        })
      )

      it.effect(
        "W6: a retried POST with the same Idempotency-Key replays status, body, ETag and Location once",
        () =>
          Effect.gen(function* () {
            const { app, token, ids } = yield* setup
            const request = { token, body: { title: "Pay rent" }, headers: { "idempotency-key": "rent-1" } }
            const first = yield* send(app, "POST", "/api/v1/tasks", request)
            const again = yield* send(app, "POST", "/api/v1/tasks", request)
            expect(first.status).toBe(201)
            expect(again.status).toBe(201)
            expect(again.body).toEqual(first.body)
            expect(again.headers.get("etag")).toBe(first.headers.get("etag"))
            expect(again.headers.get("location")).toBe(first.headers.get("location"))
            expect(yield* ids("/api/v1/tasks")).toEqual([asJson(first.body).id])

            // A keyed DELETE replays its 204 rather than answering 404 the second time.
            const id = asJson(first.body).id
            const del = { token, headers: { "idempotency-key": "rent-delete" } }
            expect((yield* send(app, "DELETE", `/api/v1/tasks/${id}`, del)).status).toBe(204)
            expect((yield* send(app, "DELETE", `/api/v1/tasks/${id}`, del)).status).toBe(204)
            // A keyed PATCH that failed stored nothing, so the key is still free.
            const patch = { token, body: { title: "x" }, headers: { "idempotency-key": "rent-patch" } }
            expect((yield* send(app, "PATCH", `/api/v1/tasks/${id}`, patch)).status).toBe(404)
            yield* send(app, "POST", `/api/v1/tasks/${id}/restore`, { token })
            expect((yield* send(app, "PATCH", `/api/v1/tasks/${id}`, patch)).status).toBe(200)
          })
      )

      it.effect(
        "W7 W16: the key with another request answers 422 naming the header; a bad key 400; writes nothing",
        () =>
          Effect.gen(function* () {
            const { app, token, ids } = yield* setup
            const headers = { "idempotency-key": "k-reuse" }
            yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "One" }, headers })
            const other = yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title: "Two" },
              headers
            })
            expect(other.status).toBe(422)
            expect(errorOf(other.body)).toMatchObject({
              code: "idempotency_key_reused",
              details: {
                issues: [{ field: "Idempotency-Key", message: "was already used for a different request" }]
              }
            })
            expect(yield* ids("/api/v1/tasks")).toHaveLength(1)

            const bad = yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title: "Three" },
              headers: { "idempotency-key": "x".repeat(256) }
            })
            expect(bad.status).toBe(400)
            expect(JSON.stringify(errorOf(bad.body).details)).toContain("Idempotency-Key")
            const inBody = yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title: "Four", idempotency_key: "abc" }
            })
            expect(inBody.status).toBe(400)
            expect(errorOf(inBody.body).details).toEqual({
              issues: [{ field: "idempotency_key", message: "send it as the Idempotency-Key header" }]
            })
            expect(yield* ids("/api/v1/tasks")).toHaveLength(1)
          })
      )

      it.effect("W9: one user's key never matches another's", () =>
        Effect.gen(function* () {
          const { app, token, ids } = yield* setup
          const other = yield* tokenFor(newUser())
          const headers = { "idempotency-key": "shared-key" }
          const mine = yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "Mine" }, headers })
          const theirs = yield* send(app, "POST", "/api/v1/tasks", {
            token: other,
            body: { title: "Mine" },
            headers
          })
          expect(theirs.status).toBe(201)
          expect(asJson(theirs.body).id).not.toBe(asJson(mine.body).id)
          expect(yield* ids("/api/v1/tasks")).toEqual([asJson(mine.body).id])
        })
      )

      it.effect("W13: an expired key no longer replays; the sweep removes it; CORS allows the header", () =>
        Effect.gen(function* () {
          const { app, token, ids } = yield* setup
          const sql = yield* SqlClient.SqlClient
          const key = `old-${crypto.randomUUID()}`
          const request = { token, body: { title: "Weekly report" }, headers: { "idempotency-key": key } }
          const first = yield* send(app, "POST", "/api/v1/tasks", request)
          yield* sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = ${key}`
          const later = yield* send(app, "POST", "/api/v1/tasks", request)
          expect(later.status).toBe(201)
          expect(asJson(later.body).id).not.toBe(asJson(first.body).id)
          expect(yield* ids("/api/v1/tasks")).toHaveLength(2)

          const preflight = yield* send(app, "OPTIONS", "/api/v1/tasks", {
            headers: {
              origin: "http://localhost:3000",
              "access-control-request-method": "POST",
              "access-control-request-headers": "idempotency-key"
            }
          })
          expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
            "idempotency-key"
          )
        })
      )

      it.effect("W17: a batch answers one result per item in order; items are independent by default", () =>
        Effect.gen(function* () {
          const { app, token, create, ids } = yield* setup
          const task = yield* create("Existing")
          const reply = yield* send(app, "POST", "/api/v1/tasks/batch", {
            token,
            body: {
              items: [
                { op: "create", title: "New one", priority: "high" },
                { op: "complete", id: task.id },
                { op: "delete", id: 2_000_000_001 },
                { op: "update", id: task.id, title: "Renamed", expected_version: 1 },
                { op: "delete", id: task.id, expected_version: 2 }
              ]
            }
          })
          expect(reply.status, reply.text).toBe(200)
          const body = asJson(reply.body) as {
            applied: number
            results: Array<{ task: Json | null; failure: Json | null }>
          }
          expect(body.applied).toBe(3)
          expect(body.results[0]!.task).toMatchObject({ title: "New one", version: 1 })
          expect(body.results[1]).toEqual({
            task: { id: task.id, title: "Existing", completed: true, version: 2 },
            failure: null
          })
          expect(body.results[2]).toEqual({
            task: null,
            failure: { error: "TaskNotFound", message: "Task 2000000001 not found" }
          })
          expect(body.results[3]!.failure).toEqual({
            error: "VersionConflict",
            message: `Task ${task.id} is at version 2, not 1; read it again and retry`
          })
          expect(body.results[4]!.task).toMatchObject({ id: task.id, version: 2 })
          expect(yield* ids("/api/v1/tasks?status=trashed")).toEqual([task.id])
          expect(yield* ids("/api/v1/tasks")).toEqual([asJson(body.results[0]!.task).id])
        })
      )

      it.effect("W18: an atomic batch with a failing item writes nothing and says which item failed", () =>
        Effect.gen(function* () {
          const { app, token, create, ids } = yield* setup
          const task = yield* create("Keep me")
          const reply = yield* send(app, "POST", "/api/v1/tasks/batch", {
            token,
            body: {
              atomic: true,
              items: [
                { op: "create", title: "Never stored" },
                { op: "delete", id: task.id },
                { op: "restore", id: task.id, expected_version: 9 }
              ]
            }
          })
          expect(reply.status, reply.text).toBe(200)
          const body = asJson(reply.body) as { applied: number; results: Array<{ failure: Json | null }> }
          expect(body.applied).toBe(0)
          expect(body.results.map((result) => result.failure?.error)).toEqual([
            "NotApplied",
            "NotApplied",
            "VersionConflict"
          ])
          expect(body.results[0]!.failure?.message).toBe("Not applied: the batch is atomic and item 2 failed")
          expect(yield* ids("/api/v1/tasks")).toEqual([task.id])
          expect(yield* ids("/api/v1/tasks?status=trashed")).toEqual([])
          expect((yield* send(app, "GET", `/api/v1/tasks/${task.id}`, { token })).body).toEqual(task)
        })
      )

      it.effect(
        "W19: a batch of more than 25 items, or an item without its id or title, is a 400 naming the field",
        () =>
          Effect.gen(function* () {
            const { app, token, ids } = yield* setup
            const many = Array.from({ length: 26 }, (_, i) => ({ op: "create", title: `t${i}` }))
            const tooMany = yield* send(app, "POST", "/api/v1/tasks/batch", { token, body: { items: many } })
            expect(tooMany.status).toBe(400)
            expect(JSON.stringify(errorOf(tooMany.body).details)).toContain('"field":"items"')
            const badOp = yield* send(app, "POST", "/api/v1/tasks/batch", {
              token,
              body: { items: [{ op: "explode", id: 1 }] }
            })
            expect(badOp.status).toBe(400)
            expect(JSON.stringify(errorOf(badOp.body).details)).toContain("items.0.op")
            expect(yield* ids("/api/v1/tasks")).toEqual([])

            const missing = yield* send(app, "POST", "/api/v1/tasks/batch", {
              token,
              body: { items: [{ op: "complete" }, { op: "create" }] }
            })
            const results = (asJson(missing.body) as { results: Array<{ failure: Json | null }> }).results
            expect(results.map((result) => result.failure?.message)).toEqual([
              "items.0.id: is required for complete",
              "items.1.title: is required for create"
            ])
          })
      )

      it.effect("W17: a keyed batch retried replays its results without writing again", () =>
        Effect.gen(function* () {
          const { app, token, ids } = yield* setup
          const request = {
            token,
            body: {
              items: [
                { op: "create", title: "Once" },
                { op: "create", title: "Twice?" }
              ]
            },
            headers: { "idempotency-key": "batch-1" }
          }
          const first = yield* send(app, "POST", "/api/v1/tasks/batch", request)
          const again = yield* send(app, "POST", "/api/v1/tasks/batch", request)
          expect(again.body).toEqual(first.body)
          expect(yield* ids("/api/v1/tasks")).toHaveLength(2)
        })
      )

      it.effect("W20: the chat reply and its SSE stream carry pending_action; confirm carries it out", () =>
        Effect.gen(function* () {
          const { app, token, create, ids } = yield* setup
          const task = yield* create("Buy milk")
          const asked = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: `delete task ${task.id}` }
          })
          expect(asked.status).toBe(200)
          const reply = asJson(asked.body)
          expect(reply.pending_action).toMatchObject({ summary: `Delete task ${task.id} 'Buy milk'` })
          const streamed = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: `delete task ${task.id}`, conversation_id: reply.conversation_id },
            headers: { accept: "text/event-stream" }
          })
          const done = streamed.text.split("\n\n").find((block) => block.startsWith("event: done"))!
          const doneData = JSON.parse(
            done
              .split("\n")
              .find((line) => line.startsWith("data: "))!
              .slice(6)
          )
          expect(doneData.pending_action.summary).toBe(`Delete task ${task.id} 'Buy milk'`)
          expect(yield* ids("/api/v1/tasks")).toEqual([task.id])
          const confirmed = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { conversation_id: reply.conversation_id, confirm: doneData.pending_action.id }
          })
          expect(confirmed.status).toBe(200)
          expect(asJson(confirmed.body).agent_response).toBe(`Done: Delete task ${task.id} 'Buy milk'.`)
          expect(yield* ids("/api/v1/tasks")).toEqual([])
          const bad = yield* send(app, "POST", "/api/v1/chat", { token, body: { confirm: "x" } })
          expect(bad.status).toBe(400)
          expect(JSON.stringify(bad.body)).toContain('"field":"confirm"')
        })
      )

      if (database.name === "postgres") {
        it.effect("W8: a request whose key is still in flight answers 409 with Retry-After", () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            const sql = yield* SqlClient.SqlClient
            const user = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).sub as string
            const held = yield* Deferred.make<void>()
            const release = yield* Deferred.make<void>()
            // Another transaction holds the key's lock, as the first request's would.
            const holder = yield* Effect.gen(function* () {
              yield* sql`SELECT pg_advisory_xact_lock(hashtext(${user}), hashtext(${"busy"}))`
              yield* Deferred.succeed(held, undefined)
              yield* Deferred.await(release)
            }).pipe(sql.withTransaction, Effect.forkChild)
            yield* Deferred.await(held)
            const reply = yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title: "Busy" },
              headers: { "idempotency-key": "busy" }
            })
            yield* Deferred.succeed(release, undefined)
            yield* Fiber.join(holder)
            expect(reply.status).toBe(409)
            expect(errorOf(reply.body).code).toBe("idempotency_key_in_flight")
            expect(reply.headers.get("retry-after")).not.toBeNull()
          })
        )
      }
    })
  })
}
