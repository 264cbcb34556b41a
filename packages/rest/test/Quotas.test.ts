/**
 * Quotas through REST: tasks per user, conversations per user and messages per conversation,
 * each refused past its limit with a 403 naming the quota, other users unaffected, and none
 * passed by writes racing each other.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Quotas } from "@taskport/core"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect, Layer } from "effect"

type Json = Record<string, unknown>
const errorOf = (value: unknown) => (value as { error: Json }).error

for (const database of testDatabases()) {
  describe(`quotas on ${database.name}`, () => {
    const limited = Quotas.layer({
      tasksPerUser: 3,
      conversationsPerUser: 2,
      messagesPerConversation: 4
    }).pipe(Layer.provideMerge(database.layer()))
    layer(servicesLayer(limited), { timeout: 120_000 })((it) => {
      const setup = Effect.gen(function* () {
        const app = yield* makeApp()
        return { app, token: yield* tokenFor(`user-${crypto.randomUUID()}`) }
      })

      it.effect("G21: the task past tasks_per_user is refused with a 403 naming the quota", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          for (let i = 0; i < 3; i++) {
            expect(
              (yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: `t${i}` } })).status
            ).toBe(201)
          }
          const refused = yield* send(app, "POST", "/api/v1/tasks", {
            token,
            body: { title: "one too many" }
          })
          expect(refused.status).toBe(403)
          expect(errorOf(refused.body)).toMatchObject({
            code: "quota_exceeded",
            details: { quota: "tasks_per_user", limit: 3 }
          })
          expect(String(errorOf(refused.body).message)).toContain("tasks_per_user")
          // The trash counts too (it holds the rows until they are purged), so moving a task
          // there makes no room; removing it for good does. Another user has a quota of their own.
          const list = (yield* send(app, "GET", "/api/v1/tasks", { token })).body as {
            items: Array<{ id: number }>
          }
          const id = list.items[0]!.id
          yield* send(app, "DELETE", `/api/v1/tasks/${id}`, { token })
          const stillFull = yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "room?" } })
          expect(stillFull.status).toBe(403)
          const purged = yield* send(app, "DELETE", `/api/v1/tasks/${id}?permanent=true`, { token })
          expect(purged.status, purged.text).toBe(204)
          const room = yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "room" } })
          expect(room.status, room.text).toBe(201)
          const other = yield* tokenFor(`user-${crypto.randomUUID()}`)
          expect(
            (yield* send(app, "POST", "/api/v1/tasks", { token: other, body: { title: "x" } })).status
          ).toBe(201)
        })
      )

      it.effect(
        "G22: conversations_per_user and messages_per_conversation refuse the turn that would pass them",
        () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            const first = yield* send(app, "POST", "/api/v1/chat", {
              token,
              body: { message: "list my tasks" }
            })
            expect(first.status).toBe(200)
            const conversation = (first.body as { conversation_id: string }).conversation_id
            expect(
              (yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "hello" } })).status
            ).toBe(200)
            const third = yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "and again" } })
            expect(third.status).toBe(403)
            expect(errorOf(third.body)).toMatchObject({
              details: { quota: "conversations_per_user", limit: 2 }
            })

            const again = { message: "list my tasks", conversation_id: conversation }
            expect((yield* send(app, "POST", "/api/v1/chat", { token, body: again })).status).toBe(200)
            const full = yield* send(app, "POST", "/api/v1/chat", { token, body: again })
            expect(full.status).toBe(403)
            expect(errorOf(full.body)).toMatchObject({
              details: { quota: "messages_per_conversation", limit: 4 }
            })
          })
      )

      it.effect("G29: concurrent writes cannot pass a quota between them", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const statuses = (results: ReadonlyArray<{ readonly status: number }>) =>
            results.map((result) => result.status).sort()
          // Twelve creates at once against a quota of three: exactly three are stored.
          const creates = yield* Effect.all(
            Array.from({ length: 12 }, (_, i) =>
              send(app, "POST", "/api/v1/tasks", { token, body: { title: `racer ${i}` } })
            ),
            { concurrency: "unbounded" }
          )
          expect(statuses(creates)).toEqual([...Array(3).fill(201), ...Array(9).fill(403)])
          const stored = (yield* send(app, "GET", "/api/v1/tasks", { token })).body as {
            items: Array<unknown>
          }
          expect(stored.items).toHaveLength(3)

          // Six new conversations at once against a quota of two.
          const opened = yield* Effect.all(
            Array.from({ length: 6 }, () =>
              send(app, "POST", "/api/v1/chat", { token, body: { message: "hello" } })
            ),
            { concurrency: "unbounded" }
          )
          expect(statuses(opened)).toEqual([200, 200, 403, 403, 403, 403])
          const conversation = (
            opened.find((turn) => turn.status === 200)!.body as { conversation_id: string }
          ).conversation_id
          // Its first turn stored two of its four messages: of three turns at once, one fits.
          const turns = yield* Effect.all(
            Array.from({ length: 3 }, () =>
              send(app, "POST", "/api/v1/chat", {
                token,
                body: { message: "hello again", conversation_id: conversation }
              })
            ),
            { concurrency: "unbounded" }
          )
          expect(statuses(turns)).toEqual([200, 403, 403])
          const messages = (yield* send(app, "GET", `/api/v1/conversations/${conversation}/messages`, {
            token
          })).body as { items: Array<unknown> }
          expect(messages.items).toHaveLength(4)
        })
      )
    })
  })
}
