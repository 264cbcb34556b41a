/**
 * A background consumer's cursors over the outbox, on PGlite and Postgres: one round hands
 * every user behind their next events in order, the cursor moves past what the handler says
 * it handled (none for a user it leaves out), a round holds at most its number of events in
 * all, and a handler that fails moves no cursor and keeps none of its writes. On Postgres, a
 * round's writes to the database are counted: they do not grow with its users.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { EventCursors, fanOut, type TaskEvent, TaskRepository, type UserEvents, UserId } from "@taskport/core"
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

      // A handler that takes every event it is given, noting each user's titles.
      const taking = (seen: Map<string, Array<string | undefined>>) => (round: ReadonlyArray<UserEvents>) =>
        Effect.sync(() => {
          for (const { owner, events } of round)
            seen.set(owner, [...(seen.get(owner) ?? []), ...titlesOf(events)])
          return round.map(({ events }) => events.length)
        })

      it.effect("V13: one round hands every user behind their events in order, once", () =>
        Effect.gen(function* () {
          const cursors = yield* EventCursors
          const { users, titles } = yield* usersWithEvents(3)
          const seen = new Map<string, Array<string | undefined>>()
          const handled = yield* cursors.drain("every-user", DRAIN, taking(seen))
          for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
          expect(handled).toBeGreaterThanOrEqual(9)
          // Nothing is behind any more: the next round hands out nothing.
          expect(yield* cursors.drain("every-user", DRAIN, () => Effect.die("nothing is behind"))).toBe(0)
        })
      )

      it.effect("V13: each cursor moves past what the handler handled, and the rest comes next round", () =>
        Effect.gen(function* () {
          const cursors = yield* EventCursors
          const { users, titles } = yield* usersWithEvents(3)
          const seen = new Map<string, Array<string | undefined>>()
          for (let round = 0; round < 3; round++) {
            yield* cursors.drain("one-at-a-time", DRAIN, (given) =>
              taking(seen)(given.map(({ owner, events }) => ({ owner, events: events.slice(0, 1) })))
            )
          }
          for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
        })
      )

      it.effect("V13: a round hands out at most its events in all, and the rest come in order after", () =>
        Effect.gen(function* () {
          const cursors = yield* EventCursors
          const { users, titles } = yield* usersWithEvents(3)
          const seen = new Map<string, Array<string | undefined>>()
          const sizes: Array<number> = []
          // Every user of the database is behind for a new consumer: rounds go on until none is.
          for (;;) {
            const handled = yield* cursors.drain("bounded", { users: 100, events: 4 }, (round) => {
              sizes.push(round.reduce((sum, { events }) => sum + events.length, 0))
              return taking(seen)(round)
            })
            if (handled === 0) break
          }
          expect(sizes.length).toBeGreaterThan(2)
          expect(Math.max(...sizes)).toBe(4)
          for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
        })
      )

      it.effect("V13: a user the handler leaves out handled nothing, and comes again whole", () =>
        Effect.gen(function* () {
          const cursors = yield* EventCursors
          const { users, titles } = yield* usersWithEvents(2)
          const [first, second, last] = users as [UserId, UserId, UserId]
          const seen = new Map<string, Array<string | undefined>>()
          // As a publisher does when the broker stops: the first user's events, then nothing.
          const handled = yield* cursors.drain("partial", DRAIN, (round) =>
            Effect.sync(() => {
              const stopped = round.findIndex(({ owner }) => owner === first) + 1
              for (const { owner, events } of round.slice(0, stopped))
                if (owner === first) seen.set(owner, titlesOf(events))
              return round.slice(0, stopped).map(({ owner, events }) => (owner === first ? events.length : 0))
            })
          )
          expect(handled).toBe(2)
          expect(seen.has(second)).toBe(false)
          expect(seen.has(last)).toBe(false)
          yield* cursors.drain("partial", DRAIN, taking(seen))
          // The first user's events are not handed out twice; the others' come now, in full.
          for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
        })
      )

      it.effect("V13: a handler that fails moves no cursor, and its writes go with the round", () =>
        Effect.gen(function* () {
          const cursors = yield* EventCursors
          const sql = yield* SqlClient.SqlClient
          const { users, titles } = yield* usersWithEvents(2)
          const marker = `marker-${crypto.randomUUID()}`
          const outcome = yield* Effect.exit(
            cursors.drain("failing", DRAIN, (round) =>
              Effect.andThen(
                Effect.orDie(
                  sql`INSERT INTO event_consumers (consumer, user_id, position) VALUES (${marker}, ${round[0]?.owner ?? ""}, 0)`
                ),
                Effect.fail("the sink is down" as const)
              )
            )
          )
          expect(Exit.isFailure(outcome) ? Option.getOrNull(Exit.findErrorOption(outcome)) : null).toBe(
            "the sink is down"
          )
          expect(yield* sql`SELECT 1 FROM event_consumers WHERE consumer = ${marker}`).toHaveLength(0)
          const seen = new Map<string, Array<string | undefined>>()
          yield* cursors.drain("failing", DRAIN, taking(seen))
          for (const user of users) expect(seen.get(user)).toEqual(titles.get(user))
        })
      )
    })
  })
}

const databaseUrl = realPostgresUrl()
if (databaseUrl !== undefined) {
  describe("event cursors' statements on postgres", () => {
    it.live(
      "V13: a round over many users takes the same few writes as a round over one, fan-out included",
      () =>
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
            const count = (round: ReadonlyArray<UserEvents>) =>
              Effect.sync(() => {
                for (const { owner, events } of round) seen.set(owner, (seen.get(owner) ?? 0) + events.length)
                return round.map(({ events }) => events.length)
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

            // The webhook fan-out queues the whole round's deliveries in one more write, each
            // for an endpoint of the event's own user.
            const sql = yield* SqlClient.SqlClient
            const [first, second] = users as [UserId, UserId]
            yield* sql`INSERT INTO webhooks (user_id, url, secret) VALUES
            (${first}, 'https://hooks.example.com/first', 'whsec_first'),
            (${second}, 'https://hooks.example.com/second', 'whsec_second')`
            expect(yield* fanOut(DRAIN)).toBe(2 * users.length)
            yield* addEvents
            const beforeFanOut = proxy.sent()
            expect(yield* fanOut(DRAIN)).toBe(users.length)
            expect(proxy.sent() - beforeFanOut).toBe(6)
            const queued = yield* sql<{
              user_id: string
              webhook_user: string
              events: number
            }>`SELECT d.user_id,
              w.user_id AS webhook_user, count(DISTINCT d.event_id)::int AS events
            FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
            GROUP BY d.user_id, w.user_id ORDER BY d.user_id`
            expect(queued).toEqual([
              { user_id: first, webhook_user: first, events: 3 },
              { user_id: second, webhook_user: second, events: 3 }
            ])
          }).pipe(Effect.provide(postgresLayer(url)))
        }).pipe(Effect.scoped)
    )
  })
}
