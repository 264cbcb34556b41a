/**
 * A background consumer's cursors over the outbox, on PGlite and Postgres: one round hands
 * every user behind their next events in order, the cursor moves past what the handler says
 * it handled, and a handler that fails keeps the progress of the users handled before it,
 * unless its failure aborted the round's transaction, which then comes again whole. On
 * Postgres, a round's writes to the database are counted: they do not grow with its users.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { EventCursors, type TaskEvent, TaskRepository, UserId } from "@taskport/core"
import { realPostgresUrl } from "@taskport/test-support/ScratchDatabase"
import { newTask } from "@taskport/test-support/Tasks"
import { proxyFor } from "@taskport/test-support/TcpProxy"
import { postgresLayer, testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect, Exit, Option } from "effect"
import { SqlClient } from "effect/sql"

const DRAIN = { users: 100, events: 100 }

const titlesOf = (events: ReadonlyArray<TaskEvent>) => events.map((event) => event.task?.title)

for (const database of testDatabases()) {
  describe(`event cursors on ${database.name}`, () => {
    layer(database.layer(), { timeout: 120_000 })((it) => {
      // Users named so that they sort a, b, c, with each test's own prefix.
      const usersWithEvents = (count: number) =>
        Effect.gen(function* () {
          const tasks = yield* TaskRepository
          const run = crypto.randomUUID()
          const users = ["a", "b", "c"].map((name) => UserId.make(`${run}-${name}`))
          const titles = new Map<UserId, Array<string>>()
          for (const user of users) {
            titles.set(user, [])
            for (let index = 0; index < count; index++) {
              const task = yield* tasks.insert(user, newTask(`${user} ${index}`))
              titles.get(user)?.push(task.title)
            }
          }
          return { users, titles }
        })

      const collect = (
        seen: Map<string, Array<string | undefined>>,
        owner: string,
        titles: ReadonlyArray<string | undefined>
      ) => {
        seen.set(owner, [...(seen.get(owner) ?? []), ...titles])
      }

      it.effect("V13: one round hands every user behind their events in order, once", () =>
        Effect.gen(function* () {
          const cursors = yield* EventCursors
          const { users, titles } = yield* usersWithEvents(3)
          const seen = new Map<string, Array<string | undefined>>()
          const handled = yield* cursors.drain("every-user", DRAIN, (owner, events) =>
            Effect.sync(() => {
              collect(seen, owner, titlesOf(events))
              return events.length
            })
          )
          for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
          expect(handled).toBeGreaterThanOrEqual(9)
          // Nothing is behind any more: the next round hands out nothing.
          expect(yield* cursors.drain("every-user", DRAIN, () => Effect.die("nothing is behind"))).toBe(0)
        })
      )

      it.effect("V13: the cursor moves past what the handler handled, and the rest comes next round", () =>
        Effect.gen(function* () {
          const cursors = yield* EventCursors
          const { users, titles } = yield* usersWithEvents(3)
          const seen = new Map<string, Array<string | undefined>>()
          for (let round = 0; round < 3; round++) {
            yield* cursors.drain("one-at-a-time", DRAIN, (owner, events) =>
              Effect.sync(() => {
                collect(seen, owner, titlesOf(events.slice(0, 1)))
                return 1
              })
            )
          }
          for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
        })
      )

      it.effect(
        "V13: a handler that fails fails the round, and only the users from the failing one on come again",
        () =>
          Effect.gen(function* () {
            const cursors = yield* EventCursors
            const { users, titles } = yield* usersWithEvents(2)
            const [first, failing, last] = users as [UserId, UserId, UserId]
            const seen = new Map<string, Array<string | undefined>>()
            const handler = (fail: boolean) => (owner: UserId, events: ReadonlyArray<TaskEvent>) =>
              fail && owner === failing
                ? Effect.fail("the sink is down" as const)
                : Effect.sync(() => {
                    collect(seen, owner, titlesOf(events))
                    return events.length
                  })
            const outcome = yield* Effect.exit(cursors.drain("failing", DRAIN, handler(true)))
            expect(Exit.isFailure(outcome) ? Option.getOrNull(Exit.findErrorOption(outcome)) : null).toBe(
              "the sink is down"
            )
            expect(seen.get(first)).toEqual(titles.get(first))
            expect(seen.has(last)).toBe(false)

            yield* cursors.drain("failing", DRAIN, handler(false))
            // The first user's events are not handed out twice; the others' come now, in full.
            for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
          })
      )

      it.effect(
        "V13: a handler whose statement fails undoes the whole round, its writes included, and reports its own failure",
        () =>
          Effect.gen(function* () {
            const cursors = yield* EventCursors
            const sql = yield* SqlClient.SqlClient
            const { users, titles } = yield* usersWithEvents(2)
            const [first, failing] = users as [UserId, UserId, UserId]
            const marker = `marker-${crypto.randomUUID()}`
            const seen = new Map<string, Array<string | undefined>>()
            const outcome = yield* Effect.exit(
              cursors.drain("aborted", DRAIN, (owner, events) =>
                Effect.mapError(
                  owner === failing
                    ? // A failed statement aborts the transaction: nothing of the round can commit.
                      Effect.as(sql`SELECT 1 / 0`, 0)
                    : Effect.as(
                        sql`INSERT INTO event_consumers (consumer, user_id, position) VALUES (${marker}, ${owner}, 0)`,
                        events.length
                      ),
                  () => "the statement failed" as const
                )
              )
            )
            expect(Exit.isFailure(outcome) ? Option.getOrNull(Exit.findErrorOption(outcome)) : null).toBe(
              "the statement failed"
            )
            // The first user's write went with the round, so its events come again.
            expect(yield* sql`SELECT 1 FROM event_consumers WHERE consumer = ${marker}`).toHaveLength(0)
            yield* cursors.drain("aborted", DRAIN, (owner, events) =>
              Effect.sync(() => {
                collect(seen, owner, titlesOf(events))
                return events.length
              })
            )
            for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
            expect(seen.has(first)).toBe(true)
          })
      )
    })
  })
}

const databaseUrl = realPostgresUrl()
if (databaseUrl !== undefined) {
  describe("event cursors' statements on postgres", () => {
    it.live("V13: a round over many users takes the same few writes as a round over one", () =>
      Effect.gen(function* () {
        // Every connection of the layer below goes through the proxy, which counts the writes.
        const { proxy, url } = yield* proxyFor(databaseUrl)
        yield* Effect.gen(function* () {
          const tasks = yield* TaskRepository
          const cursors = yield* EventCursors
          const run = crypto.randomUUID()
          const users = Array.from({ length: 12 }, (_, index) => UserId.make(`${run}-${index}`))
          const addEvents = Effect.forEach(users, (user) => tasks.insert(user, newTask(`${user} task`)))
          const seen = new Map<string, number>()
          const count = (owner: UserId, events: ReadonlyArray<TaskEvent>) =>
            Effect.sync(() => {
              seen.set(owner, (seen.get(owner) ?? 0) + events.length)
              return events.length
            })
          // The first round makes the cursors and prepares the statements; the second is counted.
          yield* addEvents
          expect(yield* cursors.drain("counted", DRAIN, count)).toBe(users.length)
          yield* addEvents
          const before = proxy.sent()
          const handled = yield* cursors.drain("counted", DRAIN, count)
          const writes = proxy.sent() - before
          expect(handled).toBe(users.length)
          for (const user of users) expect(seen.get(user)).toBe(2)
          // Who is behind; then BEGIN, the locked cursors with their events, the moved cursors, COMMIT.
          expect(writes).toBe(5)
        }).pipe(Effect.provide(postgresLayer(url)))
      }).pipe(Effect.scoped)
    )
  })
}
