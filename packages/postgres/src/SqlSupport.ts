/**
 * What the SQL repositories share: mapping driver errors to the core's `RepositoryError`
 * (so no SQL text travels further) and rendering timestamps as ISO 8601 text in SQL, which
 * reads the same from Postgres and PGlite and needs no conversion in JavaScript.
 */
import { type QuotaBound, QuotaExceeded, RepositoryError } from "@taskport/core"
import { Duration, Effect } from "effect"
import { type SqlClient, SqlError, type Statement } from "effect/sql"

const RETRYABLE = new Set([
  "ConnectionError",
  "DeadlockError",
  "SerializationError",
  "LockTimeoutError",
  "StatementTimeoutError"
])

/**
 * SQLSTATEs of a server that cannot take the work now: out of resources (class 53: too many
 * clients, out of memory, disk full) and operator intervention (57P01-57P05: shutting down,
 * starting up, recovering). The drivers leave them unclassified.
 */
const UNAVAILABLE_SQLSTATE = /^(53...|57P0[1-5])$/

const sqlstateOf = (error: SqlError.SqlError): string | undefined => {
  const cause: unknown = error.reason.cause
  if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined
  return typeof cause.code === "string" ? cause.code : undefined
}

/**
 * Whether trying again later can help. A session the server refuses while connecting is the
 * database being unavailable, whatever the reason it gives: the request never ran.
 */
const isRetryable = (error: SqlError.SqlError): boolean =>
  RETRYABLE.has(error.reason._tag) ||
  error.reason.operation === "connect" ||
  UNAVAILABLE_SQLSTATE.test(sqlstateOf(error) ?? "")

export const toRepositoryError = (error: SqlError.SqlError): RepositoryError =>
  new RepositoryError({ retryable: isRetryable(error), reason: error.reason._tag })

const SQLSTATE = /^[0-9A-Z]{5}$/

/**
 * What the server said about a failure, for operators: the SQLSTATE and the server's message
 * text. Both drivers keep them on the reason's cause (`code`, `message`). The error's other
 * fields (`detail`, `where`, ...) may quote row values, so they are left out.
 */
export const serverFacts = (
  error: SqlError.SqlError
): { sqlstate?: string; code?: string; db_message?: string } => {
  const cause: unknown = error.reason.cause
  if (typeof cause !== "object" || cause === null) return {}
  const { code, message } = cause as { code?: unknown; message?: unknown }
  return {
    // A connection failure carries Node's error code (ECONNREFUSED) rather than a SQLSTATE.
    ...(typeof code === "string" && code !== "" ? (SQLSTATE.test(code) ? { sqlstate: code } : { code }) : {}),
    ...(typeof message === "string" && message !== "" ? { db_message: message } : {})
  }
}

/**
 * Logs the driver error where operators can see it, then fails with the client-safe form;
 * any other failure (a quota a write was bounded by) passes through as it is.
 */
export const repositoryErrors = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | RepositoryError, R> =>
  Effect.catch(
    effect,
    (error): Effect.Effect<never, Exclude<E, SqlError.SqlError> | RepositoryError> =>
      SqlError.isSqlError(error)
        ? Effect.logWarning("database operation failed").pipe(
            Effect.annotateLogs({
              reason: error.reason._tag,
              ...(error.reason.operation === undefined ? {} : { operation: error.reason.operation }),
              ...serverFacts(error)
            }),
            Effect.andThen(Effect.fail(toRepositoryError(error)))
          )
        : Effect.fail(error as Exclude<E, SqlError.SqlError>)
  )

/** SQL expression rendering a timestamptz column as `2026-11-23T08:05:34.123Z`. */
export const iso = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** The instant `age` before the database's present, as an SQL expression. */
export const ago = (sql: SqlClient.SqlClient, age: Duration.Duration): Statement.Fragment =>
  sql`now() - ${Duration.toMillis(age)}::float8 * interval '1 millisecond'`

/** Runs a `DELETE … RETURNING 1` and answers how many rows it removed. */
export const deletedCount = (
  sql: SqlClient.SqlClient,
  deletion: Statement.Fragment
): Effect.Effect<number, RepositoryError> =>
  sql<{ count: number }>`WITH purged AS (${deletion}) SELECT count(*)::int AS count FROM purged`.pipe(
    Effect.map((rows) => rows[0]?.count ?? 0),
    repositoryErrors
  )

/** The owner's counts a quota can bound, each kept exact by triggers on its table (migration 0009). */
export type CountedRows = "tasks" | "conversations" | "webhooks"

/**
 * A CTE named `slot` holding one row when the owner has room under `bound` (always, without
 * one). Claiming the slot locks the owner's counts row until commit, and the conflict update
 * reads the row's latest version rather than the statement's snapshot, so concurrent bounded
 * writes take turns and each sees the count the one before left. The write selects FROM slot:
 * no room, no row written.
 */
export const quotaSlot = (
  sql: SqlClient.SqlClient,
  owner: string,
  counted: CountedRows,
  bound: QuotaBound | undefined
): Statement.Fragment => {
  if (bound === undefined) return sql`slot AS (SELECT 1)`
  const column = sql.literal(counted)
  return sql`slot AS (
    INSERT INTO quota_counts AS counts (user_id) VALUES (${owner})
    ON CONFLICT (user_id) DO UPDATE SET ${column} = counts.${column} WHERE counts.${column} < ${bound.limit}
    RETURNING 1
  )`
}

/** What a write bounded by `B` may be refused with: nothing without a bound. */
export type BoundRefusal<B> = B extends QuotaBound ? QuotaExceeded : never

/** The rows of a write bounded by `bound`, or `QuotaExceeded` when it wrote none for want of room. */
export const withinBound = <A, B extends QuotaBound | undefined>(
  rows: ReadonlyArray<A>,
  bound: B
): Effect.Effect<ReadonlyArray<A>, BoundRefusal<B>> =>
  (rows.length === 0 && bound !== undefined
    ? Effect.fail(new QuotaExceeded(bound))
    : Effect.succeed(rows)) as Effect.Effect<ReadonlyArray<A>, BoundRefusal<B>>
