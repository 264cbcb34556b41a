/**
 * Row-level security on its own, without the `user_id` filters: statements written without
 * any filter, run behind one owner's fence, see, change and insert only that owner's rows,
 * on every user-owned table, on PGlite and Postgres alike.
 */
import { describe, expect, layer } from "@effect/vitest"
import { ConversationRepository, TaskRepository, UserId } from "@taskport/core"
import { OwnerFence } from "@taskport/postgres"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect, Exit } from "effect"
import { SqlClient } from "effect/sql"

const newTask = (title: string) => ({
  title,
  description: null,
  priority: "low" as const,
  due: null,
  tags: []
})

for (const database of testDatabases()) {
  describe(`row-level security on ${database.name}`, () => {
    layer(database.layer(), { timeout: 120_000 })((it) => {
      it.effect(
        "G26: an unfiltered statement behind a fence reads, changes and inserts only the owner's rows",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const tasks = yield* TaskRepository
            const chats = yield* ConversationRepository
            const alice = UserId.make(`alice-${crypto.randomUUID()}`)
            const bob = UserId.make(`bob-${crypto.randomUUID()}`)
            for (const owner of [alice, bob]) {
              yield* tasks.insert(owner, newTask(`${owner} one`))
              yield* tasks.insert(owner, newTask(`${owner} two`))
              const conversation = yield* chats.create(owner, "hello")
              yield* chats.append(owner, conversation.id, { role: "user", content: "hi", toolCalls: [] })
            }
            const asAlice = OwnerFence.asOwner(sql, alice)

            // No WHERE clause at all: only the fence stands between the users.
            for (const table of ["tasks", "conversations", "messages", "events", "event_positions"]) {
              const owners = yield* asAlice(
                sql<{ user_id: string }>`SELECT DISTINCT user_id FROM ${sql(table)}`
              )
              expect(
                owners.map((row) => row.user_id),
                table
              ).toEqual([alice])
            }
            const changed = yield* asAlice(sql`UPDATE tasks SET title = 'overwritten' RETURNING user_id`)
            expect(changed).toHaveLength(2)
            const bobsTitles = yield* sql<{ title: string }>`SELECT title FROM tasks WHERE user_id = ${bob}`
            expect(bobsTitles.map((row) => row.title).sort()).toEqual([`${bob} one`, `${bob} two`])

            const forged = yield* Effect.exit(
              asAlice(sql`INSERT INTO tasks (user_id, title, priority) VALUES (${bob}, 'planted', 'low')`)
            )
            expect(Exit.isFailure(forged)).toBe(true)
            const deleted = yield* asAlice(sql`DELETE FROM messages RETURNING user_id`)
            expect(deleted.map((row) => row.user_id)).toEqual([alice])
            expect(yield* sql`SELECT 1 FROM messages WHERE user_id = ${bob}`).toHaveLength(1)

            // The role without an owner set sees nobody's rows.
            const nobody = yield* sql.withTransaction(
              Effect.andThen(
                sql`SELECT set_config('role', ${OwnerFence.APP_ROLE}, true)`,
                sql`SELECT count(*)::int AS n FROM tasks`
              )
            )
            expect(nobody[0]?.n).toBe(0)
          })
      )

      it.effect(
        "G26: the repositories work behind the fence, and a listing shows only the owner's tasks",
        () =>
          Effect.gen(function* () {
            const tasks = yield* TaskRepository
            const owner = UserId.make(`carol-${crypto.randomUUID()}`)
            const created = yield* tasks.insert(owner, newTask("fenced"))
            const page = yield* tasks.list(owner, {
              status: "all",
              sort: "created_at",
              order: "desc",
              limit: 10
            })
            expect(page.items.map((task) => task.id)).toEqual([created.id])
            expect((yield* tasks.find(UserId.make(`dave-${crypto.randomUUID()}`), created.id))._tag).toBe(
              "None"
            )
          })
      )
    })
  })
}
