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

/** Logs the driver error where operators can see it, then fails with the client-safe form. */
export const repositoryErrors = <A, R>(
  effect: Effect.Effect<A, SqlError.SqlError, R>
): Effect.Effect<A, RepositoryError, R> =>
  Effect.catchTag(effect, "SqlError", (error) =>
    Effect.logWarning("database operation failed", error.reason._tag, error.message).pipe(
      Effect.andThen(Effect.fail(toRepositoryError(error)))
    )
  )

/** SQL expression rendering a timestamptz column as `2026-11-23T08:05:34.123Z`. */
export const iso = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
