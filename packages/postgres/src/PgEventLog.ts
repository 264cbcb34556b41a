/**
 * The outbox in SQL: the statements that record a task change's event, used by
 * `PgTaskRepository` inside the change's own statement, and `EventLog` reading them back.
 *
 * A write is one statement: its change is a CTE named `changed` returning the task's columns
 * and `task_before` (the task as it was, or null); `recordEvent` adds two more CTEs to the
 * same statement. The first takes the user's next position from `event_positions` (an
 * upsert, so the row stays locked by the write's transaction until it ends: positions are
 * gap-free and in commit order), the second inserts the event and notifies the
 * `taskport_events` channel with the user's id. Postgres delivers a notification at commit
 * and drops it on rollback, so a listener hears of exactly the committed events. With no
 * row in `changed` (a conflict, a missing task) neither CTE writes anything.
 */
import {
  Actor,
  EventId,
  EventLog,
  type EventQuery,
  type StoredEvent,
  Task,
  TaskEventType,
  TaskId,
  taskEventOf,
  traced
} from "@taskport/core"
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { ago, deletedCount, iso, repositoryErrors } from "./SqlSupport.ts"

/** The channel every committed event is announced on; the payload is the user's id. */
export const EVENTS_CHANNEL = "taskport_events"

/**
 * The CTEs recording one event for the row of `changed` (at most one), to follow the
 * `changed` CTE in a `WITH` list. `changed` must return the task's output columns and
 * `task_before` (the task as it was, or null); the event keeps the returned row as the task
 * after the change, or, for a change that removed the task (`removed`), as the task before it.
 */
export const recordEvent = (
  sql: SqlClient.SqlClient,
  owner: string,
  type: TaskEventType,
  actor: Actor,
  options: { readonly removed?: boolean } = {}
): Statement.Fragment => {
  const row = sql`to_jsonb(changed) - 'task_before'`
  const [before, after] = options.removed === true ? [row, sql`NULL::jsonb`] : [sql`changed.task_before`, row]
  return sql`event_position AS (
      INSERT INTO event_positions AS counter (user_id, position)
      SELECT ${owner}, 1 FROM changed
      ON CONFLICT (user_id) DO UPDATE SET position = counter.position + 1
      RETURNING position
    ), recorded_event AS (
      INSERT INTO events (user_id, position, type, task_id, task_version, task_before, task_after,
                          actor_surface, actor_client, conversation_id, tool_call_id)
      SELECT ${owner}, event_position.position, ${type}, changed.id, changed.version, ${before},
             ${after}, ${actor.surface}, ${actor.client}, ${actor.conversation_id}, ${actor.tool_call_id}
      FROM changed, event_position
      RETURNING pg_notify(${EVENTS_CHANNEL}, user_id)
    )`
}

const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

const Row = Schema.Struct({
  id: EventId,
  position: Schema.Number,
  type: TaskEventType,
  task_id: TaskId,
  task_version: Schema.Int,
  occurred_at: Schema.String,
  actor_surface: Actor.fields.surface,
  actor_client: Schema.NullOr(Schema.String),
  conversation_id: Schema.NullOr(Schema.String),
  tool_call_id: Schema.NullOr(Schema.String),
  task_before: Schema.NullOr(Task),
  task_after: Schema.NullOr(Task)
})
const decodeRows = Schema.decodeUnknownExit(Schema.Array(Row))

const storedOf = (row: typeof Row.Type): StoredEvent => ({
  id: row.id,
  position: row.position,
  type: row.type,
  task_id: row.task_id,
  task_version: row.task_version,
  occurred_at: row.occurred_at,
  actor: {
    surface: row.actor_surface,
    client: row.actor_client,
    conversation_id: row.conversation_id,
    tool_call_id: row.tool_call_id
  },
  before: row.task_before,
  after: row.task_after
})

const COLUMNS = [
  "id",
  "position::float8 AS position",
  "type",
  "task_id",
  "task_version",
  `${iso("occurred_at")} AS occurred_at`,
  "actor_surface",
  "actor_client",
  "conversation_id",
  "tool_call_id",
  "task_before",
  "task_after"
].join(", ")

/** The columns `eventsOf` reads, for a statement selecting from `events`. */
export const eventColumns = (sql: SqlClient.SqlClient): Statement.Fragment => sql.literal(COLUMNS)

/**
 * The events of rows selected with `eventColumns`, in the rows' order. The rows were written
 * by the repository's own statements, so a row that does not decode is a defect.
 */
export const eventsOf = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
  Effect.map(
    Effect.orDie(
      decodeRows(
        rows.map((row) => ({ ...row, task_before: json(row.task_before), task_after: json(row.task_after) }))
      )
    ),
    (decoded) => decoded.map((row) => taskEventOf(storedOf(row)))
  )

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = eventColumns(sql)

  return EventLog.of(
    traced(EventLog, "PgEventLog", {
      list: (owner, query: EventQuery) => {
        const conditions = [sql`user_id = ${owner}`]
        if (query.after !== undefined)
          conditions.push(
            query.order === "asc" ? sql`position > ${query.after}` : sql`position < ${query.after}`
          )
        if (query.taskId !== undefined) conditions.push(sql`task_id = ${query.taskId}`)
        if (query.types !== undefined && query.types.length > 0)
          conditions.push(sql`type IN ${sql.in(query.types)}`)
        if (query.surface !== undefined) conditions.push(sql`actor_surface = ${query.surface}`)
        if (query.since !== undefined)
          conditions.push(sql`occurred_at >= to_timestamp(${query.since}::float8 / 1000)`)
        if (query.until !== undefined)
          conditions.push(sql`occurred_at < to_timestamp(${query.until}::float8 / 1000)`)
        const direction = sql.literal(query.order === "asc" ? "ASC" : "DESC")
        return sql`SELECT ${columns} FROM events WHERE ${sql.and(conditions)}
          ORDER BY position ${direction} LIMIT ${query.limit + 1}`.pipe(
          Effect.flatMap(eventsOf),
          Effect.map((events) => {
            const page = events.slice(0, query.limit)
            const last = page.at(-1)
            return {
              items: page,
              next:
                events.length > query.limit && last !== undefined ? Option.some(last.position) : Option.none()
            }
          }),
          repositoryErrors
        )
      },

      head: (owner) =>
        sql<{
          position: number
        }>`SELECT position::float8 AS position FROM event_positions WHERE user_id = ${owner}`.pipe(
          Effect.map((rows) => rows[0]?.position ?? 0),
          repositoryErrors
        ),

      purgeExpired: (olderThan) =>
        deletedCount(sql, sql`DELETE FROM events WHERE occurred_at < ${ago(sql, olderThan)} RETURNING 1`)
    })
  )
})

/** `EventLog` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<EventLog, never, SqlClient.SqlClient> = Layer.effect(EventLog, make)
