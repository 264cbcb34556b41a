/**
 * The per-owner counts quotas are judged by: exact after every kind of write to the counted
 * tables (inserts, the trash, purges, statements across owners, a truncate), binding on a
 * bounded write, and filled from the rows a database already held when the counts arrived.
 */
import { describe, expect, layer } from "@effect/vitest"
import { ConversationRepository, TaskRepository, UserId, WebhookRepository } from "@taskport/core"
import { migrate, migrateThrough, PgDatabase } from "@taskport/postgres"
import { newTask } from "@taskport/test-support/Tasks"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Duration, Effect, Exit } from "effect"
import { SqlClient } from "effect/sql"

const hook = { url: "https://example.com/hook", eventTypes: null, description: null, secret: "whsec_test" }

interface Counts {
  readonly tasks: number
  readonly conversations: number
  readonly webhooks: number
}

/** The owner's counts as kept, and as the rows themselves say. */
const countsOf = (owner: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [kept] =
      yield* sql<Counts>`SELECT tasks, conversations, webhooks FROM quota_counts WHERE user_id = ${owner}`
    const [actual] = yield* sql<Counts>`SELECT
        (SELECT count(*)::int FROM tasks WHERE user_id = ${owner}) AS tasks,
        (SELECT count(*)::int FROM conversations WHERE user_id = ${owner}) AS conversations,
        (SELECT count(*)::int FROM webhooks WHERE user_id = ${owner}) AS webhooks`
    return { kept: kept ?? { tasks: 0, conversations: 0, webhooks: 0 }, actual: actual! }
  })

for (const database of testDatabases()) {
  describe(`quota counts on ${database.name}`, () => {
    layer(database.layer(), { timeout: 120_000 })((it) => {
      it.effect("G30: the counts follow every write to the counted tables and bind a bounded write", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const tasks = yield* TaskRepository
          const chats = yield* ConversationRepository
          const webhooks = yield* WebhookRepository
          const alice = UserId.make(`alice-${crypto.randomUUID()}`)
          const bob = UserId.make(`bob-${crypto.randomUUID()}`)
          for (const owner of [alice, bob]) {
            for (let i = 0; i < 4; i++) yield* tasks.insert(owner, newTask(`${owner} ${i}`))
            yield* chats.create(owner, "one")
            yield* chats.create(owner, "two")
            yield* webhooks.insert(owner, hook, undefined)
          }
          const [first, second, third] = (yield* tasks.list(alice, {
            status: "all",
            sort: "created_at",
            order: "asc",
            limit: 10
          })).items
          // The trash keeps its rows, so it keeps its count; a purge removes one for good.
          yield* tasks.delete(alice, first!.id, undefined)
          yield* tasks.delete(alice, second!.id, undefined)
          yield* tasks.purge(alice, second!.id, undefined)
          const bobsChats = yield* chats.list(bob, { limit: 10 })
          yield* chats.delete(bob, bobsChats.items[0]!.id)
          expect((yield* countsOf(alice)).kept).toEqual({ tasks: 3, conversations: 2, webhooks: 1 })
          expect((yield* countsOf(bob)).kept).toEqual({ tasks: 4, conversations: 1, webhooks: 1 })

          // The retention sweep deletes across owners in one statement, with no fence.
          yield* sql`UPDATE tasks SET deleted_at = now() - interval '40 days' WHERE id = ${first!.id}`
          expect(yield* tasks.purgeTrash(Duration.days(30))).toBeGreaterThanOrEqual(1)
          for (const owner of [alice, bob]) {
            const { kept, actual } = yield* countsOf(owner)
            expect(kept, owner).toEqual(actual)
          }
          expect((yield* countsOf(alice)).kept.tasks).toBe(2)

          // A bounded write is refused at the bound, naming the quota, and writes nothing.
          const bound = { quota: "tasks_per_user", limit: 2 } as const
          const refused = yield* Effect.exit(tasks.insertWithin(alice, newTask("one too many"), bound))
          expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toContain("tasks_per_user")
          expect((yield* countsOf(alice)).actual.tasks).toBe(2)
          const fits = yield* tasks.insertWithin(alice, newTask("fits"), {
            quota: "tasks_per_user",
            limit: 3
          })
          expect(fits.title).toBe("fits")
          yield* tasks.delete(alice, third!.id, undefined)
          yield* tasks.purge(alice, third!.id, undefined)
          expect(
            (yield* tasks.insertWithin(alice, newTask("room again"), { ...bound, limit: 3 })).title
          ).toBe("room again")

          // A truncate (an operator's reset) leaves every count at zero rather than stale.
          yield* sql`TRUNCATE webhook_deliveries, webhooks`
          expect((yield* countsOf(alice)).kept.webhooks).toBe(0)
          expect((yield* countsOf(bob)).kept.webhooks).toBe(0)
        })
      )
    })
  })
}

describe("quota counts on a database written before they existed", () => {
  layer(PgDatabase.layerPglite({ migrate: false }), { timeout: 120_000 })((it) => {
    it.effect("G30: the migration fills the counts from the rows already there", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* migrateThrough(8)
        for (const [owner, n] of [
          ["carol", 3],
          ["dave", 1]
        ] as const) {
          for (let i = 0; i < n; i++) {
            yield* sql`INSERT INTO tasks (user_id, title) VALUES (${owner}, ${`task ${i}`})`
            yield* sql`INSERT INTO conversations (user_id, title) VALUES (${owner}, ${`chat ${i}`})`
          }
        }
        yield* sql`INSERT INTO webhooks (user_id, url, secret) VALUES ('dave', 'https://example.com/h', 'whsec_x')`
        const applied = yield* migrate
        expect(applied.map(([, name]) => name)).toContain("quota_counts")
        expect((yield* countsOf("carol")).kept).toEqual({ tasks: 3, conversations: 3, webhooks: 0 })
        expect((yield* countsOf("dave")).kept).toEqual({ tasks: 1, conversations: 1, webhooks: 1 })
      })
    )
  })
})
