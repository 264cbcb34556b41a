/**
 * The outbox on every test database: each change made through the use cases has exactly its
 * event, written with it; a change that fails or changes nothing has none; positions are a
 * gap-free count per user, in commit order, even under concurrent writers; the actor of the
 * calling effect is recorded; old events are swept.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  actor,
  CurrentActor,
  CurrentUser,
  EventLog,
  type EventQuery,
  Quotas,
  type TaskEvent,
  TodoService,
  TodoToolsLayer,
  type UserId
} from "@taskport/core"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Duration, Effect, Exit, Layer } from "effect"
import { SqlClient } from "effect/sql"

const all = (fields: Partial<EventQuery> = {}): EventQuery => ({ order: "asc", limit: 1000, ...fields })

const eventsOf = (user: UserId, fields: Partial<EventQuery> = {}) =>
  Effect.flatMap(Effect.service(EventLog), (log) => log.list(user, all(fields))).pipe(
    Effect.map((slice) => slice.items)
  )

const summary = (event: TaskEvent) => [event.position, event.type, event.task_id, event.task_version]

for (const database of testDatabases()) {
  describe(`the outbox on ${database.name}`, () => {
    const services = TodoToolsLayer.pipe(
      Layer.provideMerge(
        Quotas.layer({ tasksPerUser: 3, conversationsPerUser: 5, messagesPerConversation: 5 })
      ),
      Layer.provideMerge(database.layer())
    )
    layer(services, { timeout: 120_000, excludeTestServices: true })((it) => {
      const as = (user: UserId) => Effect.provideService(CurrentUser, { id: user })

      it.effect("V1: every change writes exactly its event, numbered 1, 2, 3, ... for its user", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const user = newUser()
          const created = yield* todos.create({ title: "Buy milk", tags: ["home"] }).pipe(as(user))
          yield* todos.update({ id: created.id, title: "Buy oat milk", priority: "high" }).pipe(as(user))
          yield* todos.complete({ id: created.id, completed: true }).pipe(as(user))
          yield* todos.complete({ id: created.id, completed: false }).pipe(as(user))
          yield* todos.delete({ id: created.id }).pipe(as(user))
          yield* todos.restore({ id: created.id }).pipe(as(user))
          yield* todos.delete({ id: created.id }).pipe(as(user))
          yield* todos.delete({ id: created.id, permanent: true }).pipe(as(user))

          const events = yield* eventsOf(user)
          expect(events.map(summary)).toEqual([
            [1, "task.created", created.id, 1],
            [2, "task.updated", created.id, 2],
            [3, "task.completed", created.id, 3],
            [4, "task.reopened", created.id, 4],
            [5, "task.deleted", created.id, 4],
            [6, "task.restored", created.id, 5],
            [7, "task.deleted", created.id, 5],
            [8, "task.purged", created.id, 5]
          ])
          const [create, update, complete, reopen, trash, restore, , purge] = events
          expect(create?.task?.title).toBe("Buy milk")
          expect(create?.task?.tags).toEqual(["home"])
          expect(update?.changes).toEqual({
            title: { before: "Buy milk", after: "Buy oat milk" },
            priority: { before: "medium", after: "high" }
          })
          expect(update?.task).toBeNull()
          expect(complete?.changes.completed).toEqual({ before: false, after: true })
          expect(reopen?.changes.completed).toEqual({ before: true, after: false })
          expect(reopen?.changes.completed_at?.after).toBeNull()
          expect(typeof reopen?.changes.completed_at?.before).toBe("string")
          expect(trash?.changes).toEqual({})
          expect(restore?.changes).toEqual({})
          expect(purge?.task?.title).toBe("Buy oat milk")
          expect(new Set(events.map((event) => event.id)).size).toBe(events.length)
          expect(yield* Effect.flatMap(Effect.service(EventLog), (log) => log.head(user))).toBe(8)
          expect(yield* Effect.flatMap(Effect.service(EventLog), (log) => log.head(newUser()))).toBe(0)
        })
      )

      it.effect("V2: a change that fails or changes nothing writes no event", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const user = newUser()
          const task = yield* todos.create({ title: "Only once" }).pipe(as(user))
          const failures = [
            todos.update({ id: task.id, title: "stale", expected_version: 7 }),
            todos.update({ id: 2_147_483_000, title: "missing" }),
            todos.delete({ id: task.id, expected_version: 3 }),
            todos.restore({ id: task.id }),
            todos.delete({ id: task.id, permanent: true }),
            todos.complete({ id: task.id, completed: true, expected_version: 9 })
          ]
          for (const failure of failures)
            expect(Exit.isFailure(yield* Effect.exit(failure.pipe(as(user))))).toBe(true)
          // Already open: reported unchanged, and nothing happened.
          yield* todos.complete({ id: task.id, completed: false }).pipe(as(user))
          // The quota allows three tasks: the fourth create is refused before it writes.
          yield* todos.create({ title: "two" }).pipe(as(user))
          yield* todos.create({ title: "three" }).pipe(as(user))
          const refused = yield* Effect.exit(todos.create({ title: "four" }).pipe(as(user)))
          expect(Exit.isFailure(refused)).toBe(true)
          // A keyed write replayed changes nothing the second time.
          yield* todos.update({ id: task.id, title: "keyed", idempotency_key: "k-1" }).pipe(as(user))
          yield* todos.update({ id: task.id, title: "keyed", idempotency_key: "k-1" }).pipe(as(user))

          const events = yield* eventsOf(user)
          expect(events.map((event) => event.type)).toEqual([
            "task.created",
            "task.created",
            "task.created",
            "task.updated"
          ])
          expect(events.map((event) => event.position)).toEqual([1, 2, 3, 4])
        })
      )

      it.effect("V2: an atomic batch rolled back leaves no event; an applied one leaves one per item", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const user = newUser()
          const task = yield* todos.create({ title: "Batch target" }).pipe(as(user))
          const rolledBack = yield* todos
            .batch({
              atomic: true,
              items: [
                { op: "create", title: "would be second" },
                { op: "update", id: task.id, title: "would change" },
                { op: "update", id: task.id, title: "stale", expected_version: 1 }
              ]
            })
            .pipe(as(user))
          expect(rolledBack.applied).toBe(0)
          expect((yield* eventsOf(user)).map((event) => event.type)).toEqual(["task.created"])

          const applied = yield* todos
            .batch({
              items: [
                { op: "complete", id: task.id },
                { op: "update", id: task.id, title: "stale", expected_version: 1 },
                { op: "create", title: "made in a batch" }
              ]
            })
            .pipe(as(user))
          expect(applied.applied).toBe(2)
          expect((yield* eventsOf(user)).map((event) => [event.position, event.type])).toEqual([
            [1, "task.created"],
            [2, "task.completed"],
            [3, "task.created"]
          ])
        })
      )

      it.effect("V3: completing a recurring task records its completion and the next occurrence", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const user = newUser()
          const task = yield* todos
            .create({ title: "Water plants", due: "2030-01-06", recurrence: "FREQ=WEEKLY" })
            .pipe(as(user))
          const done = yield* todos.complete({ id: task.id, completed: true }).pipe(as(user))
          const next = done.next_occurrence_id
          expect(next).not.toBeNull()
          yield* todos.complete({ id: task.id, completed: false }).pipe(as(user))
          const events = yield* eventsOf(user)
          expect(events.map((event) => [event.type, event.task_id])).toEqual([
            ["task.created", task.id],
            ["task.created", next],
            ["task.completed", task.id],
            ["task.purged", next],
            ["task.reopened", task.id]
          ])
          expect(events[2]?.changes.next_occurrence_id).toEqual({ before: null, after: next })
          expect(events[2]?.task_version).toBe(done.version)
        })
      )

      it.effect("V4: the actor of the calling effect is recorded; the library is the default", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const user = newUser()
          const task = yield* todos.create({ title: "Who did it" }).pipe(as(user))
          yield* todos
            .update({ id: task.id, title: "By chat" })
            .pipe(
              as(user),
              Effect.provideService(
                CurrentActor,
                actor("chat", { client: "web", conversationId: "c-1", toolCallId: "call_7" })
              )
            )
          const long = `agent/${"x".repeat(400)}\u0000`
          yield* todos
            .update({ id: task.id, title: "By REST" })
            .pipe(as(user), Effect.provideService(CurrentActor, actor("rest", { client: long })))
          const [first, second, third] = yield* eventsOf(user)
          expect(first?.actor).toEqual({
            surface: "library",
            client: null,
            conversation_id: null,
            tool_call_id: null
          })
          expect(second?.actor).toEqual({
            surface: "chat",
            client: "web",
            conversation_id: "c-1",
            tool_call_id: "call_7"
          })
          expect(third?.actor.surface).toBe("rest")
          expect(third?.actor.client).toBe(`agent/${"x".repeat(194)}`)
          expect((yield* eventsOf(user, { surface: "chat" })).map((event) => event.position)).toEqual([2])
        })
      )

      it.effect("V5: concurrent writers of one user get positions with no gap and no repeat", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const user = newUser()
          const tasks = yield* Effect.forEach([1, 2], (n) =>
            todos.create({ title: `Shared ${n}` }).pipe(as(user))
          )
          yield* Effect.forEach(
            Array.from({ length: 24 }, (_, i) => i),
            (i) => todos.update({ id: tasks[i % 2]!.id, title: `Round ${i}` }).pipe(as(user)),
            { concurrency: 8 }
          )
          const events = yield* eventsOf(user)
          expect(events.map((event) => event.position)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1))
          // Each task's versions appear in position order: a later position never carries an older change.
          for (const task of tasks) {
            const versions = events
              .filter((event) => event.task_id === task.id)
              .map((event) => event.task_version)
            expect(versions).toEqual(Array.from({ length: 13 }, (_, i) => i + 1))
          }
        })
      )

      it.effect("V6: listings filter by task, type and time, page by position, and show no other user", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const log = yield* EventLog
          const user = newUser()
          const a = yield* todos.create({ title: "A" }).pipe(as(user))
          const b = yield* todos.create({ title: "B" }).pipe(as(user))
          yield* todos.complete({ id: a.id, completed: true }).pipe(as(user))
          yield* todos.update({ id: b.id, title: "B2" }).pipe(as(user))
          yield* todos.create({ title: "someone else's" }).pipe(as(newUser()))

          expect((yield* eventsOf(user, { taskId: a.id })).map((event) => event.type)).toEqual([
            "task.created",
            "task.completed"
          ])
          expect(
            (yield* eventsOf(user, { types: ["task.updated", "task.completed"] })).map((e) => e.position)
          ).toEqual([3, 4])
          const first = yield* log.list(user, all({ order: "desc", limit: 3 }))
          expect(first.items.map((event) => event.position)).toEqual([4, 3, 2])
          expect(first.next._tag).toBe("Some")
          const rest = yield* log.list(user, all({ order: "desc", limit: 3, after: 2 }))
          expect(rest.items.map((event) => event.position)).toEqual([1])
          expect(rest.next._tag).toBe("None")
          expect(yield* eventsOf(user, { since: Date.now() + 60_000 })).toEqual([])
          expect((yield* eventsOf(user, { until: Date.now() + 60_000 })).length).toBe(4)
        })
      )

      it.effect("V7: the sweep removes events older than the retention, and positions go on", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const log = yield* EventLog
          const sql = yield* SqlClient.SqlClient
          const user = newUser()
          const task = yield* todos.create({ title: "Old news" }).pipe(as(user))
          yield* todos.update({ id: task.id, title: "Newer" }).pipe(as(user))
          yield* sql`UPDATE events SET occurred_at = now() - interval '31 days' WHERE user_id = ${user} AND position = 1`
          const removed = yield* log.purgeExpired(Duration.days(30))
          expect(removed).toBeGreaterThanOrEqual(1)
          yield* todos.update({ id: task.id, title: "Newest" }).pipe(as(user))
          expect((yield* eventsOf(user)).map((event) => event.position)).toEqual([2, 3])
        })
      )
    })
  })
}
