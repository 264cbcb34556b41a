/**
 * What the SQL repositories share: mapping driver errors to the core's `RepositoryError`
 * (so no SQL text travels further) and rendering timestamps as ISO 8601 text in SQL, which
 * reads the same from Postgres and PGlite and needs no conversion in JavaScript.
 */
import { RepositoryError } from "@taskport/core"
import { Duration, Effect } from "effect"
import type { SqlClient, SqlError, Statement } from "effect/sql"

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

/** Logs the driver error where operators can see it, then fails with the client-safe form. */
export const repositoryErrors = <A, R>(
  effect: Effect.Effect<A, SqlError.SqlError, R>
): Effect.Effect<A, RepositoryError, R> =>
  Effect.catchTag(effect, "SqlError", (error) =>
    Effect.logWarning("database operation failed").pipe(
      Effect.annotateLogs({
        reason: error.reason._tag,
        ...(error.reason.operation === undefined ? {} : { operation: error.reason.operation }),
        ...serverFacts(error)
      }),
      Effect.andThen(Effect.fail(toRepositoryError(error)))
    )
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
