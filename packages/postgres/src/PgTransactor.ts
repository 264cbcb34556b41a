/**
 * `Transactor` over `effect/sql`: `sql.withTransaction`, for Postgres and PGlite alike; a unit
 * of work for an owner is also that owner's row-level security fence, without a transaction
 * for a read-only unit where a pool of fenced sessions is provided.
 */
import { type RepositoryError, Transactor } from "@taskport/core"
import { Effect, Layer, Option } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { asOwner, FencedSessions, readAsOwner } from "./OwnerFence.ts"
import { toRepositoryError } from "./SqlSupport.ts"

const repositoryFailures = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError.SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | RepositoryError, R> =>
  Effect.mapError(effect, (error) =>
    SqlError.isSqlError(error) ? toRepositoryError(error) : (error as Exclude<E, SqlError.SqlError>)
  )

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const sessions = yield* Effect.serviceOption(FencedSessions)
  return Transactor.of({
    run: (effect) => repositoryFailures(sql.withTransaction(effect)),
    forOwner: (owner, options) => (effect) =>
      repositoryFailures(
        options?.readOnly === true && Option.isSome(sessions)
          ? (readAsOwner(sql, sessions.value, owner)(effect) as typeof effect)
          : asOwner(sql, owner)(effect)
      )
  })
})

/** `Transactor` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<Transactor, never, SqlClient.SqlClient> = Layer.effect(Transactor, make)
