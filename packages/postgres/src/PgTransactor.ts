/** `Transactor` over `effect/sql`: `sql.withTransaction`, for Postgres and PGlite alike. */
import { Transactor } from "@taskport/core"
import { Effect, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { toRepositoryError } from "./SqlSupport.ts"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return Transactor.of({
    run: (effect) =>
      effect.pipe(
        sql.withTransaction,
        Effect.mapError((error) => (SqlError.isSqlError(error) ? toRepositoryError(error) : error))
      )
  })
})

/** `Transactor` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<Transactor, never, SqlClient.SqlClient> = Layer.effect(Transactor, make)
