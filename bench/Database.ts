/**
 * The benchmark's own corner of the Postgres server: a schema created for the run and dropped
 * after it (so BENCH_DATABASE_URL may name any database, even the test one), bulk seeding in
 * SQL (the rows are the fixture, not what is measured: tasks, and conversations of a known
 * length for the chat workloads), and cleanup between runs so every workload meets the same
 * tables.
 */
import { PgDatabase } from "@taskport/postgres"
import { Effect, type Layer, Redacted } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import type { CapturedStatement } from "./Ceiling.ts"
import { CHAT_TASK_TITLE } from "./InstantModel.ts"
import { CREATE_BODY } from "./Workloads.ts"

export const SCHEMA = "taskport_bench"

/** The URL with the schema as the connection's search_path, for the server process. */
export const urlWithSchema = (url: string, schema = SCHEMA): string => {
  const parsed = new URL(url)
  const options = parsed.searchParams.get("options")
  parsed.searchParams.set("options", `${options === null ? "" : `${options} `}-c search_path=${schema}`)
  return parsed.href
}

/** A client working in the benchmark schema, configured as the server configures its own. */
export const client = (
  url: string,
  maxConnections: number
): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  PgDatabase.layerClient({
    url: Redacted.make(url),
    maxConnections,
    schema: SCHEMA,
    applicationName: "taskport-bench"
  })

const admin = (url: string) => PgDatabase.layerClient({ url: Redacted.make(url), maxConnections: 1 })

/** Drops and recreates the benchmark schema (the server migrates it on start). */
export const resetSchema = (url: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).unprepared
    yield* sql.unsafe(`CREATE SCHEMA ${SCHEMA}`).unprepared
  }).pipe(Effect.provide(admin(url)))

export const dropSchema = (url: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).unprepared
  }).pipe(Effect.provide(admin(url)))

export const userName = (index: number) => `bench-user-${String(index).padStart(3, "0")}`

/**
 * Inserts `tasksPerUser` tasks for each of `users` users, with varied priorities, notes and
 * creation times, and returns every user's task ids.
 */
export const seed = (users: number, tasksPerUser: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Half the tasks are due: a quarter on a date, a quarter at a time in a zone (Tokyo keeps
    // one offset all year, so the stored RFC 9557 text is easy to write here).
    yield* sql`INSERT INTO tasks (user_id, title, description, priority, tags, due, due_at, created_at, updated_at)
      SELECT 'bench-user-' || lpad(u::text, 3, '0'),
             'Task ' || t || ' of user ' || u,
             CASE WHEN t % 3 = 0 THEN 'Notes for task ' || t END,
             (ARRAY['low', 'medium', 'high'])[1 + t % 3],
             CASE WHEN t % 2 = 0 THEN '["home"]'::jsonb ELSE '["work", "bench"]'::jsonb END,
             CASE t % 4
               WHEN 0 THEN to_char(day, 'YYYY-MM-DD') || 'T09:00:00.000+09:00[Asia/Tokyo]'
               WHEN 1 THEN to_char(day, 'YYYY-MM-DD')
             END,
             CASE t % 4
               WHEN 0 THEN (to_char(day, 'YYYY-MM-DD') || 'T09:00:00+09:00')::timestamptz
               WHEN 1 THEN (to_char(day, 'YYYY-MM-DD') || 'T00:00:00Z')::timestamptz
             END,
             now() - make_interval(mins => t * 7 + u),
             now() - make_interval(mins => t * 7 + u)
      FROM generate_series(0, ${users - 1}) AS u, generate_series(1, ${tasksPerUser}) AS t,
           LATERAL (SELECT make_date(2027, 1 + u % 12, 1 + (t + u) % 28) AS day) AS days`
    yield* vacuum
    const rows = yield* sql<{
      user_id: string
      id: number
    }>`SELECT user_id, id FROM tasks ORDER BY user_id, id`
    const byUser = new Map<string, Array<number>>()
    for (const row of rows) {
      const ids = byUser.get(row.user_id) ?? []
      ids.push(row.id)
      byUser.set(row.user_id, ids)
    }
    return byUser
  })

const vacuum = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe("VACUUM ANALYZE tasks").unprepared
})

/** Removes the tasks a create workload added, so the next run lists the same pages. */
export const removeCreated = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DELETE FROM tasks WHERE title = ${CREATE_BODY.title}`
  yield* vacuum
})

/** Gives `user` exactly `count` tasks, inserted in one statement. */
export const fillUser = (user: string, count: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM tasks WHERE user_id = ${user}`
    yield* sql`INSERT INTO tasks (user_id, title, priority, tags, created_at, updated_at)
      SELECT ${user}, 'Scaling task ' || n, (ARRAY['low', 'medium', 'high'])[1 + n % 3], '[]'::jsonb,
             now() - make_interval(secs => n), now() - make_interval(secs => n)
      FROM generate_series(1, ${count}) AS n`
    yield* vacuum
  })

export const removeUser = (user: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM tasks WHERE user_id = ${user}`
    yield* vacuum
  })

/** The plan Postgres chooses for a captured statement with real parameters. */
export const explain = (statement: CapturedStatement, params: ReadonlyArray<unknown>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.unsafe<{ "QUERY PLAN": string }>(
      `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) ${statement.sql}`,
      params
    ).unprepared
    return rows.map((row) => row["QUERY PLAN"])
  })

/**
 * Gives each of `users` `perUser` conversations of exactly `messages` messages, inserted in
 * one statement per user, and returns every user's conversation ids, newest first.
 *
 * The messages alternate as a real chat does: a user's request, then the assistant's answer
 * carrying the `todo_create` call it made, with the call's arguments and the created task as
 * its result, in the shape `ChatService` stores. Sequence numbers run from 1 to `messages` and
 * the conversation's `last_seq` is `messages`, as if every message had been appended by the
 * repository, so the next turn appends `messages + 1`.
 */
export const seedConversations = (users: ReadonlyArray<string>, perUser: number, messages: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const byUser = new Map<string, Array<string>>()
    for (const user of users) {
      const rows = yield* sql<{ id: string }>`WITH made AS (
          INSERT INTO conversations (user_id, title, last_seq, created_at, updated_at)
          SELECT ${user}, 'Benchmark conversation ' || c, ${messages},
                 now() - make_interval(hours => c), now() - make_interval(hours => c)
          FROM generate_series(1, ${perUser}) AS c
          RETURNING id, user_id, created_at
        ), written AS (
          INSERT INTO messages (conversation_id, user_id, seq, role, content, tool_calls, created_at)
          SELECT made.id, made.user_id, s,
                 CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
                 CASE WHEN s % 2 = 1 THEN 'add a task to buy item ' || s
                      ELSE 'Added task #' || (1000000 + s) || ' "Buy item ' || (s - 1) || '".' END,
                 CASE WHEN s % 2 = 1 THEN '[]'::jsonb
                      ELSE jsonb_build_array(jsonb_build_object(
                        'id', 'call_1',
                        'name', 'todo_create',
                        'arguments', jsonb_build_object('title', 'Buy item ' || (s - 1)),
                        'result', jsonb_build_object(
                          'id', 1000000 + s, 'title', 'Buy item ' || (s - 1), 'description', NULL,
                          'priority', 'medium', 'completed', false, 'completed_at', NULL, 'due', NULL,
                          'tags', '[]'::jsonb, 'version', 1,
                          'created_at', '2026-01-01T00:00:00.000Z', 'updated_at', '2026-01-01T00:00:00.000Z'),
                        'is_error', false)) END,
                 made.created_at + make_interval(secs => s)
          FROM made, generate_series(1, ${messages}) AS s
        )
        SELECT id FROM made ORDER BY created_at DESC`
      byUser.set(
        user,
        rows.map((row) => row.id)
      )
    }
    yield* sql.unsafe("VACUUM ANALYZE conversations, messages").unprepared
    yield* checkpoint
    return byUser
  })

/**
 * Writes out what seeding dirtied now rather than during the next measurement (a 300-message
 * fixture is some 100 MB of rows). Best effort: CHECKPOINT needs a superuser or the
 * pg_checkpoint role, which a hosted database may not grant.
 */
const checkpoint = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe("CHECKPOINT").unprepared
}).pipe(Effect.ignore)

/**
 * Puts every conversation back to its first `messages` messages and removes the tasks the
 * chat turns created, so each run meets the conversations and task lists the last one met.
 */
export const resetConversations = (messages: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM messages WHERE seq > ${messages}`
    yield* sql`UPDATE conversations SET last_seq = ${messages} WHERE last_seq <> ${messages}`
    yield* sql`DELETE FROM tasks WHERE title = ${CHAT_TASK_TITLE}`
    yield* sql.unsafe("VACUUM ANALYZE tasks, conversations, messages").unprepared
  })

/** Removes a user's conversations (their messages go with them) and tasks. */
export const removeChatUser = (user: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM conversations WHERE user_id = ${user}`
    yield* sql`DELETE FROM tasks WHERE user_id = ${user}`
    yield* sql.unsafe("VACUUM ANALYZE tasks, conversations, messages").unprepared
  })
