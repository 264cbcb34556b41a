/**
 * What the SQL repositories share: mapping driver errors to the core's `RepositoryError`
 * (so no SQL text travels further) and rendering timestamps as ISO 8601 text in SQL, which
 * reads the same from Postgres and PGlite and needs no conversion in JavaScript.
 */
import { RepositoryError } from "@taskport/core"
import { Effect } from "effect"
import type { SqlError } from "effect/sql"

const RETRYABLE = new Set([
  "ConnectionError",
  "DeadlockError",
  "SerializationError",
  "LockTimeoutError",
  "StatementTimeoutError"
])

export const toRepositoryError = (error: SqlError.SqlError): RepositoryError =>
  new RepositoryError({ retryable: RETRYABLE.has(error.reason._tag), reason: error.reason._tag })

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
