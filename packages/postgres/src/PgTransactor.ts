/**
 * `Transactor` over `effect/sql`: `sql.withTransaction`, for Postgres and PGlite alike; a unit
 * of work for an owner is that owner's row-level security fence.
 */
import { type RepositoryError, Transactor } from "@taskport/core"
import { Effect, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { FencedSessions, fence } from "./OwnerFence.ts"
import { toRepositoryError } from "./SqlSupport.ts"

const repositoryFailures = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError.SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | RepositoryError, R> =>
  Effect.mapError(effect, (error) =>
    SqlError.isSqlError(error) ? toRepositoryError(error) : (error as Exclude<E, SqlError.SqlError>)
  )

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const fenceOf = fence(sql, yield* Effect.serviceOption(FencedSessions))
  return Transactor.of({
    run: (effect) => repositoryFailures(sql.withTransaction(effect)),
    forOwner: (owner) => (effect) => repositoryFailures(fenceOf(owner)(effect))
  })
})

/** `Transactor` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<Transactor, never, SqlClient.SqlClient> = Layer.effect(Transactor, make)
