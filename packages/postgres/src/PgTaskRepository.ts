/**
 * `TaskRepository` over `effect/sql`, for Postgres and PGlite alike. Every statement filters
 * by `user_id`; updates bump `version` and `updated_at` in the same statement; listings use
 * keyset pagination on (sort key, id), served by the per-user indexes of the migrations. A
 * deleted task keeps its row with `deleted_at` set: every statement but the trash's own
 * (listing, restore, purge, sweep) filters it out.
 *
 * Each write is one statement that also records its event (`PgEventLog.recordEvent`): the
 * change is a CTE named `changed`, so the event costs no extra round trip and exists exactly
 * when the change does. Where the event needs the task as it was, a `prior` CTE locks and
 * reads the row first (`UPDATE ... FROM prior`), since Postgres 15 has no `RETURNING OLD`.
 */
import {
  CurrentActor,
  type DueWindow,
  type KeysetPosition,
  type NewTask,
  type QuotaBound,
  Task,
  type TaskEventType,
  type TaskId,
  type TaskPatch,
  type TaskQuery,
  TaskRepository,
  type TaskSort,
  traced,
  type UpdateOutcome,
  type UserId,
  WriteEvent
} from "@taskport/core"
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { recordEvent } from "./PgEventLog.ts"
import { ago, deletedCount, iso, quotaSlot, repositoryErrors, withinBound } from "./SqlSupport.ts"

/** The task's output columns, read from `table` (qualified, for statements joining another row). */
const columnsOf = (table: string) =>
  [
    `${table}.id`,
    `${table}.title`,
    `${table}.description`,
    `${table}.priority`,
    `${table}.completed`,
    `${iso(`${table}.completed_at`)} AS completed_at`,
    `${table}.due`,
    `${table}.tags`,
    `${table}.recurrence`,
    `${table}.reminder`,
    `${iso(`${table}.remind_at`)} AS remind_at`,
    `${table}.next_occurrence_id`,
    `${table}.version`,
    `${iso(`${table}.created_at`)} AS created_at`,
    `${iso(`${table}.updated_at`)} AS updated_at`
  ].join(", ")

const COLUMNS = columnsOf("tasks")

/** The output columns' names, to select them from a CTE that returned them. */
const NAMES =
  "id, title, description, priority, completed, completed_at, due, tags, recurrence, reminder, remind_at, next_occurrence_id, version, created_at, updated_at"

/**
 * How each sort orders rows (`expr`), reports its key (`key`) and reads a cursor key (`cast`).
 * The timestamp columns are qualified: the select list renders them as text under the same
 * names, and a bare name in ORDER BY means the output column, whose order no index serves.
 */
const SORTS: Record<TaskSort, { readonly expr: string; readonly key: string; readonly cast: string }> = {
  created_at: { expr: "tasks.created_at", key: iso("created_at"), cast: "timestamptz" },
  updated_at: { expr: "tasks.updated_at", key: iso("updated_at"), cast: "timestamptz" },
  due: {
    expr: "COALESCE(due_at, 'infinity'::timestamptz)",
    key: `COALESCE(${iso("due_at")}, 'infinity')`,
    cast: "timestamptz"
  },
  priority: { expr: "priority_rank", key: "priority_rank", cast: "smallint" },
  title: { expr: "lower(title)", key: "lower(title)", cast: "text" }
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(COLUMNS)
  // Rows are decoded through the core schema; a row that fails it is a bug, not bad input.
  // Decoding is synchronous and a page is decoded in one pass rather than one effect per row.
  // Every row was written through the schema's checks, so reading it back applies only its
  // structure and transformations: the checks were a fifth of a listing's CPU time.
  const decodeTask = Schema.decodeUnknownExit(Task, { disableChecks: true })
  const decodeTasks = Schema.decodeUnknownExit(Schema.Array(Task), { disableChecks: true })
  const decodeRows = (rows: ReadonlyArray<unknown>) => Effect.orDie(decodeTasks(rows))
  const decodeFirst = (rows: ReadonlyArray<unknown>) =>
    rows.length === 0 ? Effect.succeedNone : Effect.asSome(Effect.orDie(decodeTask(rows[0])))
  const dueMillis = (due: NewTask["due"]) => (due === null ? null : due.epochMillis)
  /** An instant in milliseconds as a timestamptz(3): exact, so that it compares equal to a stored one. */
  const instant = (millis: number | null) => sql`to_timestamp(${millis}::float8 / 1000)::timestamptz(3)`

  // A date-only due (ten characters) is a calendar day in the user's zone and compares as a
  // date; a zoned due compares by its instant.
  const dueWindowCondition = (window: DueWindow) => {
    const byDate = [sql`char_length(due) = 10`]
    if (window.fromDate !== undefined) byDate.push(sql`due >= ${window.fromDate}`)
    if (window.toDate !== undefined) byDate.push(sql`due < ${window.toDate}`)
    const byInstant = [sql`char_length(due) > 10`]
    if (window.fromMillis !== undefined)
      byInstant.push(sql`due_at >= to_timestamp(${window.fromMillis}::float8 / 1000)`)
    if (window.toMillis !== undefined)
      byInstant.push(sql`due_at < to_timestamp(${window.toMillis}::float8 / 1000)`)
    const within = sql`((${sql.and(byDate)}) OR (${sql.and(byInstant)}))`
    return window.openOnly === true ? sql`(completed = false AND ${within})` : within
  }

  const names = sql.literal(NAMES)
  const qualified = sql.literal(columnsOf("tasks"))

  /**
   * One statement: the `changes` CTEs (ending in one named `changed`) and the event they
   * record, returning the changed task's row, if any.
   */
  const recorded = (
    owner: string,
    type: TaskEventType,
    changes: Statement.Fragment,
    options: { readonly removed?: boolean } = {}
  ) =>
    Effect.flatMap(
      Effect.service(CurrentActor),
      (actor) => sql`WITH ${changes}, ${recordEvent(sql, owner, type, actor, options)}
        SELECT ${names} FROM changed`
    )

  /**
   * An UPDATE of the live or trashed task `id` matching `conditions`, recorded with the task as
   * it was: `prior` locks and reads the row, the update joins it.
   */
  const updateRecorded = (
    owner: string,
    id: number,
    type: TaskEventType,
    sets: ReadonlyArray<Statement.Fragment>,
    conditions: ReadonlyArray<Statement.Fragment>
  ) =>
    recorded(
      owner,
      type,
      sql`prior AS (
          SELECT ${columns} FROM tasks WHERE user_id = ${owner} AND id = ${id} AND ${sql.and(conditions)}
          FOR UPDATE
        ), changed AS (
          UPDATE tasks SET ${sql.join(", ", false)(sets)} FROM prior
          WHERE tasks.user_id = ${owner} AND tasks.id = prior.id
          RETURNING ${qualified}, to_jsonb(prior) AS task_before
        )`
    )

  /** Inserts the task, within `bound` if given (see `quotaSlot`). */
  const insertRow = <B extends QuotaBound | undefined = undefined>(owner: string, task: NewTask, bound?: B) =>
    recorded(
      owner,
      WriteEvent.insert,
      sql`${quotaSlot(sql, owner, "tasks", bound)}, changed AS (
        INSERT INTO tasks (user_id, title, description, priority, due, due_at, tags, recurrence, reminder, remind_at)
          SELECT ${owner}::text, ${task.title}::text, ${task.description}::text, ${task.priority}::text,
                 ${task.due?.text ?? null}::text, to_timestamp(${dueMillis(task.due)}::float8 / 1000),
                 ${JSON.stringify(task.tags)}::jsonb, ${task.recurrence ?? null}::text,
                 ${task.reminder?.text ?? null}::text, ${instant(task.reminder?.atMillis ?? null)}
          FROM slot
          RETURNING ${columns}, NULL::jsonb AS task_before
      )`
    ).pipe(
      Effect.flatMap((rows) => withinBound(rows, bound as B)),
      Effect.flatMap((rows) => Effect.orDie(decodeTask(rows[0])))
    )

  const findRow = (owner: string, id: number) =>
    sql`SELECT ${columns} FROM tasks WHERE user_id = ${owner} AND id = ${id} AND deleted_at IS NULL`.pipe(
      Effect.flatMap(decodeFirst)
    )

  const completion = (completed: boolean) => [
    sql`completed = ${completed}`,
    sql`completed_at = CASE WHEN ${completed}::boolean THEN now() ELSE NULL END`,
    sql`version = tasks.version + 1`,
    sql`updated_at = now()`
  ]

  const versionCheck = (expectedVersion: number | undefined) =>
    expectedVersion === undefined ? sql`TRUE` : sql`version = ${expectedVersion}`

  /** Why a conditional write matched no row: no such task (where it was looked for) or another version. */
  const missed = (owner: string, id: number, trashed: boolean) =>
    Effect.map(
      sql<{ version: number }>`SELECT version FROM tasks WHERE user_id = ${owner} AND id = ${id}
        AND ${trashed ? sql`deleted_at IS NOT NULL` : sql`deleted_at IS NULL`}`,
      (rows): UpdateOutcome => {
        const found = rows[0]
        return found === undefined
          ? { _tag: "NotFound" }
          : { _tag: "Conflict", currentVersion: found.version }
      }
    )

  /** The outcome of a conditional write from the rows it returned. */
  const outcome = (rows: ReadonlyArray<unknown>, owner: string, id: number, trashed: boolean) =>
    rows.length > 0
      ? Effect.map(Effect.orDie(decodeTask(rows[0])), (task): UpdateOutcome => ({ _tag: "Updated", task }))
      : missed(owner, id, trashed)

  return TaskRepository.of(
    traced(TaskRepository, "PgTaskRepository", {
      insert: (owner, task) => repositoryErrors(insertRow(owner, task)),

      insertWithin: (owner, task, bound) => repositoryErrors(insertRow(owner, task, bound)),

      find: (owner, id) => repositoryErrors(findRow(owner, id)),

      update: (owner, id, patch: TaskPatch, expectedVersion) => {
        const sets = [sql`version = tasks.version + 1`, sql`updated_at = now()`]
        if (patch.title !== undefined) sets.push(sql`title = ${patch.title}`)
        if (patch.description !== undefined) sets.push(sql`description = ${patch.description}`)
        if (patch.priority !== undefined) sets.push(sql`priority = ${patch.priority}`)
        if (patch.tags !== undefined) sets.push(sql`tags = ${JSON.stringify(patch.tags)}::jsonb`)
        if (patch.recurrence !== undefined) sets.push(sql`recurrence = ${patch.recurrence}`)
        if (patch.due !== undefined) {
          sets.push(sql`due = ${patch.due?.text ?? null}`)
          sets.push(sql`due_at = to_timestamp(${dueMillis(patch.due)}::float8 / 1000)`)
        }
        if (patch.reminder !== undefined) {
          const at = instant(patch.reminder?.atMillis ?? null)
          sets.push(sql`reminder = ${patch.reminder?.text ?? null}`)
          sets.push(sql`remind_at = ${at}`)
          // A reminder that now comes at another instant is armed again; the same one stays as it was.
          sets.push(
            sql`reminded_at = CASE WHEN tasks.remind_at IS NOT DISTINCT FROM ${at} THEN tasks.reminded_at END`
          )
        }
        return updateRecorded(owner, id, WriteEvent.update, sets, [
          sql`deleted_at IS NULL`,
          versionCheck(expectedVersion)
        ]).pipe(
          Effect.flatMap((rows) => outcome(rows, owner, id, false)),
          repositoryErrors
        )
      },

      setCompleted: (owner, id, completed, expectedVersion) =>
        Effect.gen(function* () {
          const rows = yield* updateRecorded(
            owner,
            id,
            completed ? WriteEvent.complete : WriteEvent.reopen,
            completion(completed),
            [sql`deleted_at IS NULL`, sql`completed <> ${completed}::boolean`, versionCheck(expectedVersion)]
          )
          if (rows.length > 0) return yield* outcome(rows, owner, id, false)
          // Already in the requested state: reported unchanged, if still at the expected version.
          const current = yield* findRow(owner, id)
          if (Option.isNone(current)) return { _tag: "NotFound" } as UpdateOutcome
          return expectedVersion === undefined || current.value.version === expectedVersion
            ? ({ _tag: "Updated", task: current.value } as UpdateOutcome)
            : ({ _tag: "Conflict", currentVersion: current.value.version } as UpdateOutcome)
        }).pipe(repositoryErrors),

      // The open task is locked first, so the next occurrence is scheduled only for a task
      // that will be completed; the completion then links it, in one recorded change.
      completeOccurrence: (owner, id, next) =>
        Effect.gen(function* () {
          const open = yield* sql`SELECT id FROM tasks
          WHERE user_id = ${owner} AND id = ${id} AND completed = false AND deleted_at IS NULL FOR UPDATE`
          if (open.length === 0) return Option.none()
          const scheduled = yield* insertRow(owner, next)
          const rows = yield* updateRecorded(
            owner,
            id,
            WriteEvent.complete,
            [...completion(true), sql`next_occurrence_id = ${scheduled.id}`],
            [sql`deleted_at IS NULL`]
          )
          return yield* decodeFirst(rows)
        }).pipe(sql.withTransaction, repositoryErrors),

      reopenOccurrence: (owner, id) =>
        Effect.gen(function* () {
          const current = yield* sql<{
            next_occurrence_id: number | null
          }>`SELECT next_occurrence_id FROM tasks WHERE user_id = ${owner} AND id = ${id} AND deleted_at IS NULL FOR UPDATE`
          const next = current[0]?.next_occurrence_id
          if (next !== undefined && next !== null) {
            yield* recorded(
              owner,
              WriteEvent.purge,
              sql`changed AS (
                DELETE FROM tasks
                WHERE user_id = ${owner} AND id = ${next} AND completed = false AND version = 1 AND deleted_at IS NULL
                RETURNING ${columns}, NULL::jsonb AS task_before
              )`,
              { removed: true }
            )
          }
          const rows = yield* updateRecorded(
            owner,
            id,
            WriteEvent.reopen,
            [...completion(false), sql`next_occurrence_id = NULL`],
            [sql`deleted_at IS NULL`, sql`completed = true`]
          )
          if (rows.length > 0) return yield* decodeFirst(rows)
          return yield* findRow(owner, id)
        }).pipe(sql.withTransaction, repositoryErrors),

      // The row is returned as it was: deleted_at is not part of a task, and the version stays,
      // so restoring is one change after the task the client last saw.
      delete: (owner, id, expectedVersion) =>
        recorded(
          owner,
          WriteEvent.delete,
          sql`changed AS (
            UPDATE tasks SET deleted_at = now()
            WHERE user_id = ${owner} AND id = ${id} AND deleted_at IS NULL AND ${versionCheck(expectedVersion)}
            RETURNING ${columns}, NULL::jsonb AS task_before
          )`
        ).pipe(
          Effect.flatMap((rows) => outcome(rows, owner, id, false)),
          repositoryErrors
        ),

      restore: (owner, id, expectedVersion) =>
        recorded(
          owner,
          WriteEvent.restore,
          sql`changed AS (
            UPDATE tasks SET deleted_at = NULL, version = version + 1, updated_at = now()
            WHERE user_id = ${owner} AND id = ${id} AND deleted_at IS NOT NULL AND ${versionCheck(expectedVersion)}
            RETURNING ${columns}, NULL::jsonb AS task_before
          )`
        ).pipe(
          Effect.flatMap((rows) => outcome(rows, owner, id, true)),
          repositoryErrors
        ),

      purge: (owner, id, expectedVersion) =>
        recorded(
          owner,
          WriteEvent.purge,
          sql`changed AS (
            DELETE FROM tasks
            WHERE user_id = ${owner} AND id = ${id} AND deleted_at IS NOT NULL AND ${versionCheck(expectedVersion)}
            RETURNING ${columns}, NULL::jsonb AS task_before
          )`,
          { removed: true }
        ).pipe(
          Effect.flatMap((rows) => outcome(rows, owner, id, true)),
          repositoryErrors
        ),

      purgeTrash: (olderThan) =>
        deletedCount(sql, sql`DELETE FROM tasks WHERE deleted_at < ${ago(sql, olderThan)} RETURNING 1`),

      dueReminders: (nowMillis, limit) =>
        Effect.gen(function* () {
          // A reminder whose time came while its task was closed is settled without firing.
          yield* sql`UPDATE tasks SET reminded_at = ${instant(nowMillis)}
            WHERE reminded_at IS NULL AND remind_at <= ${instant(nowMillis)}
              AND (completed OR deleted_at IS NOT NULL)`
          const rows = yield* sql<{ user_id: string; id: number; at: number }>`
            SELECT user_id, id, (extract(epoch FROM remind_at) * 1000)::float8 AS at FROM tasks
            WHERE reminded_at IS NULL AND remind_at <= ${instant(nowMillis)}
              AND completed = false AND deleted_at IS NULL
            ORDER BY remind_at, id LIMIT ${limit}`
          return rows.map((row) => ({
            owner: row.user_id as UserId,
            id: row.id as TaskId,
            atMillis: Number(row.at)
          }))
        }).pipe(repositoryErrors),

      fireReminder: (owner, id, atMillis, nowMillis) =>
        recorded(
          owner,
          WriteEvent.remind,
          sql`changed AS (
            UPDATE tasks SET reminded_at = ${instant(nowMillis)}
            WHERE user_id = ${owner} AND id = ${id} AND reminded_at IS NULL
              AND completed = false AND deleted_at IS NULL
              AND remind_at = ${instant(atMillis)} AND remind_at <= ${instant(nowMillis)}
            RETURNING ${columns}, NULL::jsonb AS task_before
          )`
        ).pipe(Effect.flatMap(decodeFirst), repositoryErrors),

      list: (owner, query: TaskQuery) => {
        const sort = SORTS[query.sort]
        const direction = query.order === "asc" ? "ASC" : "DESC"
        const conditions = [sql`user_id = ${owner}`]
        conditions.push(query.status === "trashed" ? sql`deleted_at IS NOT NULL` : sql`deleted_at IS NULL`)
        if (query.status === "pending" || query.status === "completed")
          conditions.push(sql`completed = ${query.status === "completed"}`)
        if (query.priority !== undefined) conditions.push(sql`priority = ${query.priority}`)
        if (query.tag !== undefined) conditions.push(sql`tags @> ${JSON.stringify([query.tag])}::jsonb`)
        if (query.dueBefore !== undefined)
          conditions.push(sql`due_at < to_timestamp(${query.dueBefore}::float8 / 1000)`)
        if (query.dueAfter !== undefined)
          conditions.push(sql`due_at > to_timestamp(${query.dueAfter}::float8 / 1000)`)
        if (query.dueWindow !== undefined) conditions.push(dueWindowCondition(query.dueWindow))
        if (query.dueNone === true) conditions.push(sql`due IS NULL`)
        if (query.completedFrom !== undefined)
          conditions.push(sql`completed_at >= to_timestamp(${query.completedFrom}::float8 / 1000)`)
        if (query.completedBefore !== undefined)
          conditions.push(sql`completed_at < to_timestamp(${query.completedBefore}::float8 / 1000)`)
        if (query.text !== undefined) {
          const pattern = `%${escapeLike(query.text)}%`
          conditions.push(sql`(title ILIKE ${pattern} OR description ILIKE ${pattern})`)
        }
        if (query.after !== undefined) {
          const op = query.order === "asc" ? ">" : "<"
          conditions.push(
            sql`(${sql.literal(sort.expr)}, id) ${sql.literal(op)} (${query.after.key}::${sql.literal(sort.cast)}, ${query.after.id})`
          )
        }
        return sql<{
          sort_key: string | number
          id: number
        }>`SELECT ${columns}, ${sql.literal(sort.key)} AS sort_key
        FROM tasks WHERE ${sql.and(conditions)}
        ORDER BY ${sql.literal(`${sort.expr} ${direction}, id ${direction}`)}
        LIMIT ${query.limit + 1}`.pipe(
          Effect.flatMap((rows) =>
            Effect.map(decodeRows(rows.slice(0, query.limit)), (items) => {
              const last = rows.length > query.limit ? rows[query.limit - 1] : undefined
              const next: Option.Option<KeysetPosition> =
                last === undefined ? Option.none() : Option.some({ key: last.sort_key, id: last.id })
              return { items, next }
            })
          ),
          repositoryErrors
        )
      }
    })
  )
})

/** `TaskRepository` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<TaskRepository, never, SqlClient.SqlClient> = Layer.effect(
  TaskRepository,
  make
)
