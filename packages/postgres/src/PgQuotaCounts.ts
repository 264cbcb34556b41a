/**
 * The usage the chat budget is checked against, over `effect/sql`: one sum over the owner's
 * messages of the day, served by the (user_id, created_at) index. The quotas on rows need no
 * count here: each bounded write claims its room in its own statement (`quotaSlot`).
 */
import { QuotaCounts, traced } from "@taskport/core"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { repositoryErrors } from "./SqlSupport.ts"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const count = (rows: ReadonlyArray<{ readonly n: number | string }>) => Number(rows[0]?.n ?? 0)
  return QuotaCounts.of(
    traced(QuotaCounts, "PgQuotaCounts", {
      tokensSince: (owner, sinceMillis) =>
        sql<{ n: string }>`SELECT COALESCE(sum(input_tokens + output_tokens), 0)::bigint AS n FROM messages
          WHERE user_id = ${owner} AND created_at >= to_timestamp(${sinceMillis}::float8 / 1000)`.pipe(
          Effect.map(count),
          repositoryErrors
        )
    })
  )
})

export const layer: Layer.Layer<QuotaCounts, never, SqlClient.SqlClient> = Layer.effect(QuotaCounts, make)
