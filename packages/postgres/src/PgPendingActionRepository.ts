/**
 * `PendingActionRepository` over `effect/sql`. Settling is one conditional UPDATE, so of two
 * confirmations arriving at once (on two processes, say) exactly one wins.
 */
import { type PendingAction, PendingActionRepository, traced } from "@taskport/core"
import { Duration, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { iso, repositoryErrors } from "./SqlSupport.ts"

interface Row {
  readonly id: string
  readonly tool: string
  readonly arguments: unknown
  readonly summary: string
  readonly expires_at: string
}

const COLUMNS = `id::text AS id, tool, arguments, summary, ${iso("expires_at")} AS expires_at`

const toAction = (row: Row): PendingAction => ({
  id: row.id,
  tool: row.tool,
  arguments: typeof row.arguments === "string" ? JSON.parse(row.arguments) : row.arguments,
  summary: row.summary,
  expires_at: row.expires_at
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(COLUMNS)
  return PendingActionRepository.of(
    traced(PendingActionRepository, "PgPendingActionRepository", {
      create: (owner, conversationId, action, ttl) =>
        Effect.gen(function* () {
          yield* sql`UPDATE pending_actions SET state = 'superseded'
            WHERE user_id = ${owner} AND conversation_id = ${conversationId}::uuid AND state = 'pending'`
          const rows = yield* sql<Row>`INSERT INTO pending_actions
              (conversation_id, user_id, tool, arguments, summary, expires_at)
            SELECT id, ${owner}, ${action.tool}, ${JSON.stringify(action.arguments)}::jsonb, ${action.summary},
                   now() + ${Duration.toMillis(ttl)}::float8 * interval '1 millisecond'
            FROM conversations WHERE id = ${conversationId}::uuid AND user_id = ${owner}
            RETURNING ${columns}`
          return toAction(rows[0]!)
        }).pipe(sql.withTransaction, repositoryErrors),

      open: (owner, conversationId) =>
        sql<Row>`SELECT ${columns} FROM pending_actions
          WHERE user_id = ${owner} AND conversation_id = ${conversationId}::uuid
            AND state = 'pending' AND expires_at > now()
          ORDER BY created_at DESC LIMIT 1`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toAction)),
          repositoryErrors
        ),

      settle: (owner, conversationId, id, to) =>
        Effect.gen(function* () {
          if (!UUID.test(id)) return { _tag: "Unsettled", reason: "unknown" } as const
          const rows = yield* sql<Row>`UPDATE pending_actions SET state = ${to}
            WHERE id = ${id}::uuid AND user_id = ${owner} AND conversation_id = ${conversationId}::uuid
              AND state = 'pending' AND expires_at > now()
            RETURNING ${columns}`
          if (rows[0] !== undefined) return { _tag: "Settled", action: toAction(rows[0]) } as const
          const [found] = yield* sql<{ state: "pending" | "confirmed" | "declined" | "superseded" }>`
            SELECT state FROM pending_actions
            WHERE id = ${id}::uuid AND user_id = ${owner} AND conversation_id = ${conversationId}::uuid`
          if (found === undefined) return { _tag: "Unsettled", reason: "unknown" } as const
          return { _tag: "Unsettled", reason: found.state === "pending" ? "expired" : found.state } as const
        }).pipe(repositoryErrors)
    })
  )
})

/** `PendingActionRepository` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<PendingActionRepository, never, SqlClient.SqlClient> = Layer.effect(
  PendingActionRepository,
  make
)
