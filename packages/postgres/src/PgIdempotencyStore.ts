/**
 * `IdempotencyStore` over `effect/sql`, for Postgres and PGlite alike. A keyed write runs in
 * one transaction that first takes a transaction-scoped advisory lock on (user, key): a second
 * request with the key while the first runs finds the lock taken and is refused at once,
 * from any process; one arriving later finds the record committed with the write, and replays it.
 */
import {
  IdempotencyKeyInFlight,
  IdempotencyKeyReused,
  IdempotencyRetention,
  IdempotencyStore,
  traced
} from "@taskport/core"
import { Effect, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { ago, deletedCount, toRepositoryError } from "./SqlSupport.ts"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  return IdempotencyStore.of(
    traced(IdempotencyStore, "PgIdempotencyStore", {
      run: (request, work, codec) => {
        const { owner, key, fingerprint, field } = request
        return Effect.gen(function* () {
          const retention = yield* IdempotencyRetention
          const [lock] = yield* sql<{
            locked: boolean
          }>`SELECT pg_try_advisory_xact_lock(hashtext(${owner}), hashtext(${key})) AS locked`
          if (lock?.locked !== true) return yield* new IdempotencyKeyInFlight({ field })
          // An expired record no longer binds the key: it is dropped so the key can be used again.
          yield* sql`DELETE FROM idempotency_keys
            WHERE user_id = ${owner} AND key = ${key} AND created_at <= ${ago(sql, retention)}`
          const [stored] = yield* sql<{ matches: boolean; response: unknown }>`
            SELECT request_hash = md5(${fingerprint}) AS matches, response
            FROM idempotency_keys WHERE user_id = ${owner} AND key = ${key}`
          if (stored !== undefined) {
            if (!stored.matches) return yield* new IdempotencyKeyReused({ field })
            return codec.decode(
              typeof stored.response === "string" ? JSON.parse(stored.response) : stored.response
            )
          }
          const value = yield* work
          yield* sql`INSERT INTO idempotency_keys (user_id, key, request_hash, response)
            VALUES (${owner}, ${key}, md5(${fingerprint}), ${JSON.stringify(codec.encode(value))}::jsonb)`
          return value
        }).pipe(
          sql.withTransaction,
          Effect.mapError((error) => (SqlError.isSqlError(error) ? toRepositoryError(error) : error))
        )
      },

      purgeExpired: Effect.flatMap(IdempotencyRetention, (retention) =>
        deletedCount(
          sql,
          sql`DELETE FROM idempotency_keys WHERE created_at <= ${ago(sql, retention)} RETURNING 1`
        )
      )
    })
  )
})

/** `IdempotencyStore` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<IdempotencyStore, never, SqlClient.SqlClient> = Layer.effect(
  IdempotencyStore,
  make
)
