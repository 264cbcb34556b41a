/**
 * Row-level security on its own, without the `user_id` filters: statements written without
 * any filter, run behind one owner's fence, see, change and insert only that owner's rows,
 * on every user-owned table, on PGlite and Postgres alike.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConversationRepository, TaskRepository, Transactor, UserId } from "@taskport/core"
import { OwnerFence, PgDatabase } from "@taskport/postgres"
import { realPostgresUrl } from "@taskport/test-support/ScratchDatabase"
import { newTask } from "@taskport/test-support/Tasks"
import { proxyFor } from "@taskport/test-support/TcpProxy"
import { postgresLayer, testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect, Exit, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"

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
              // A webhook with one delivery, and a consumer's position in the owner's events.
              const [hook] = yield* sql<{ id: string }>`INSERT INTO webhooks (user_id, url, secret)
                VALUES (${owner}, 'https://example.com/hook', 'whsec_test') RETURNING id`
              yield* sql`INSERT INTO webhook_deliveries (webhook_id, user_id, event_id, event_type, payload, created_at)
                VALUES (${hook!.id}::uuid, ${owner}, ${crypto.randomUUID()}, 'task.created', '{}', now())`
              yield* sql`INSERT INTO event_consumers (consumer, user_id, position) VALUES ('test', ${owner}, 1)`
            }
            const asAlice = OwnerFence.asOwner(sql, alice)

            // No WHERE clause at all: only the fence stands between the users.
            for (const table of [
              "tasks",
              "conversations",
              "messages",
              "events",
              "event_positions",
              "event_consumers",
              "webhooks",
              "webhook_deliveries",
              "quota_counts"
            ]) {
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

      it.effect(
        "G27: a unit of work for an owner fences once: its calls share one connection, and a transaction in it rolls back whole",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const tasks = yield* TaskRepository
            const transactor = yield* Transactor
            const owner = UserId.make(`erin-${crypto.randomUUID()}`)
            const other = UserId.make(`frank-${crypto.randomUUID()}`)
            yield* tasks.insert(other, newTask("not erin's"))
            const backend = sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`

            // Inside the unit, repository calls and statements run on the unit's one connection.
            const inside = yield* transactor.forOwner(owner)(
              Effect.gen(function* () {
                const first = yield* backend
                yield* tasks.insert(owner, newTask("inside the unit"))
                const seen = yield* sql<{ user_id: string }>`SELECT DISTINCT user_id FROM tasks`
                const second = yield* backend
                return { pids: [first[0]?.pid, second[0]?.pid], seen: seen.map((row) => row.user_id) }
              })
            )
            expect(inside.pids[0]).toBeDefined()
            expect(inside.pids[1]).toBe(inside.pids[0])
            expect(inside.seen).toEqual([owner])

            // Another owner's call inside the unit is fenced to that owner, not to the unit's.
            const seen = yield* transactor.forOwner(owner)(
              Effect.map(
                tasks.list(other, { status: "all", sort: "created_at", order: "desc", limit: 10 }),
                (page) => page.items.map((task) => task.title)
              )
            )
            expect(seen).toEqual(["not erin's"])

            // A transaction inside the unit undoes every write made in it.
            const failed = yield* Effect.exit(
              transactor.forOwner(owner)(
                transactor.run(
                  Effect.andThen(tasks.insert(owner, newTask("rolled back")), Effect.fail("stop" as const))
                )
              )
            )
            expect(Exit.isFailure(failed)).toBe(true)
            // One that succeeds keeps all of its writes, and ran as one transaction.
            const committed = yield* transactor.forOwner(owner)(
              transactor.run(
                Effect.gen(function* () {
                  yield* tasks.insert(owner, newTask("kept one"))
                  yield* tasks.insert(owner, newTask("kept two"))
                  const [one] = yield* sql<{
                    at: string
                  }>`SELECT transaction_timestamp()::text AS at, pg_sleep(0.002)`
                  const [two] = yield* sql<{ at: string }>`SELECT transaction_timestamp()::text AS at`
                  return one?.at === two?.at
                })
              )
            )
            expect(committed).toBe(true)
            const titles = yield* sql<{ title: string }>`SELECT title FROM tasks WHERE user_id = ${owner}`
            expect(titles.map((row) => row.title).sort()).toEqual(["inside the unit", "kept one", "kept two"])
          })
      )

      it.effect("G28: a fence that fails fails its call, and no statement of the call is answered", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const tasks = yield* TaskRepository
          const transactor = yield* Transactor
          const owner = UserId.make(`ivan-${crypto.randomUUID()}`)
          // Fenced calls first, so that the sessions hold an earlier owner when the bad one comes.
          for (let index = 0; index < 8; index++) yield* tasks.insert(owner, newTask(`ivan ${index}`))
          // Postgres refuses a zero byte in text, so the fence's own statement fails; ids are
          // checked for it long before, which is why this one is forged past the schema.
          const unsettable = "nobody\u0000at-all" as UserId
          const seen: Array<unknown> = []
          const attempt = Effect.exit(
            Effect.tap(sql<{ user_id: string }>`SELECT DISTINCT user_id FROM tasks`, (rows) =>
              Effect.sync(() => seen.push(...rows))
            )
          )
          // The second statement comes after the first one's failure was caught, in the same call.
          const outcome = yield* Effect.exit(transactor.forOwner(unsettable)(Effect.all([attempt, attempt])))
          expect(seen).toEqual([])
          if (Exit.isSuccess(outcome)) {
            for (const exit of outcome.value) expect(Exit.isFailure(exit)).toBe(true)
          }
          // The sessions are as good as before for the next owner.
          const page = yield* tasks.list(owner, {
            status: "all",
            sort: "created_at",
            order: "desc",
            limit: 20
          })
          expect(page.items).toHaveLength(8)
        })
      )

      it.effect(
        "G28: on Postgres fences run on sessions of their own, without a transaction, and the application's pool never sees their settings",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const tasks = yield* TaskRepository
            const transactor = yield* Transactor
            const alice = UserId.make(`grace-${crypto.randomUUID()}`)
            const bob = UserId.make(`heidi-${crypto.randomUUID()}`)
            for (const owner of [alice, bob]) yield* tasks.insert(owner, newTask(`${owner} task`))
            const unitOf = (owner: UserId) =>
              transactor.forOwner(owner)(
                Effect.gen(function* () {
                  const owners = yield* sql<{ user_id: string }>`SELECT DISTINCT user_id FROM tasks`
                  const viaRepository = yield* tasks.list(owner, {
                    status: "all",
                    sort: "created_at",
                    order: "desc",
                    limit: 10
                  })
                  // Two statements apart in time share a start only inside one transaction.
                  const started = () =>
                    sql<{ at: string }>`SELECT transaction_timestamp()::text AS at, pg_sleep(0.002)`
                  const [first] = yield* started()
                  const [second] = yield* started()
                  return {
                    owners: owners.map((row) => row.user_id),
                    titles: viaRepository.items.map((task) => task.title),
                    implicit: first !== undefined && second !== undefined && first.at !== second.at
                  }
                })
              )
            // Many owners' units at once, so that sessions are reused across owners.
            const results = yield* Effect.forEach(
              Array.from({ length: 24 }, (_, index) => (index % 2 === 0 ? alice : bob)),
              (owner) => Effect.map(unitOf(owner), (result) => ({ owner, ...result })),
              { concurrency: 12 }
            )
            for (const result of results) {
              expect(result.owners).toEqual([result.owner])
              expect(result.titles).toEqual([`${result.owner} task`])
              // PGlite has one connection and no pool of sessions: there the fence is a transaction.
              expect(result.implicit).toBe(database.name === "postgres")
            }
            // The application's own connections still run as the connecting role, with no owner.
            const sessions = yield* Effect.forEach(
              Array.from({ length: 12 }),
              () =>
                sql<{ app: boolean; owner: string | null }>`
                  SELECT current_user = ${OwnerFence.APP_ROLE} AS app,
                    nullif(current_setting(${OwnerFence.OWNER_SETTING}, true), '') AS owner`,
              { concurrency: 12 }
            )
            for (const [row] of sessions) expect(row).toEqual({ app: false, owner: null })
          })
      )
    })
  })
}

const databaseUrl = realPostgresUrl()
if (databaseUrl !== undefined) {
  describe("fenced sessions on postgres", () => {
    it.live(
      "G28: a session opens as the role with nobody's rows, and a fenced call's fence goes out with its statement",
      () =>
        Effect.gen(function* () {
          const sessions = yield* OwnerFence.FencedSessions
          const [opened] = yield* Effect.scoped(
            Effect.flatMap(sessions.take, (session) =>
              session.query(
                `SELECT current_user = '${OwnerFence.APP_ROLE}' AS app,
                  current_setting('${OwnerFence.OWNER_SETTING}') AS owner`
              )
            )
          ).pipe(Effect.map((result) => result.rows))
          expect(opened).toEqual({ app: true, owner: "" })

          // Every connection of the layer below goes through the proxy, which counts the writes.
          const { proxy, url } = yield* proxyFor(databaseUrl)
          yield* Effect.gen(function* () {
            const tasks = yield* TaskRepository
            const owner = UserId.make(`judy-${crypto.randomUUID()}`)
            const task = yield* tasks.insert(owner, newTask("one write"))
            const before = proxy.sent()
            for (let index = 0; index < 10; index++) {
              expect(Option.isSome(yield* tasks.find(owner, task.id))).toBe(true)
            }
            // One write per call, the fence and the statement together: one round trip, not two.
            expect(proxy.sent() - before).toBe(10)
          }).pipe(Effect.provide(postgresLayer(url, { maxConnections: 1 })))
        }).pipe(
          Effect.scoped,
          Effect.provide(
            PgDatabase.layerFencedSessions({ url: Redacted.make(databaseUrl), maxConnections: 1 })
          )
        ),
      60_000
    )
  })
}
