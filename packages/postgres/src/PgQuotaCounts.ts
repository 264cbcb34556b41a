/**
 * The counts quotas are checked against, over `effect/sql`. Each is one index-served count
 * on the owner's rows (the per-user indexes of the migrations lead with `user_id`). Trashed
 * tasks count: they hold their rows until purged, so the trash cannot grow past the quota.
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
      tasks: (owner) =>
        sql<{ n: number }>`SELECT count(*)::int AS n FROM tasks WHERE user_id = ${owner}`.pipe(
          Effect.map(count),
          repositoryErrors
        ),
      conversations: (owner) =>
        sql<{ n: number }>`SELECT count(*)::int AS n FROM conversations WHERE user_id = ${owner}`.pipe(
          Effect.map(count),
          repositoryErrors
        ),
      messages: (owner, id) =>
        sql<{ n: number }>`SELECT count(*)::int AS n FROM messages
          WHERE user_id = ${owner} AND conversation_id = ${id}::uuid`.pipe(
          Effect.map(count),
          repositoryErrors
        ),
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
