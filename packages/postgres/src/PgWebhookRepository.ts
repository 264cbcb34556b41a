/**
 * `WebhookRepository` over `effect/sql`, for Postgres and PGlite alike. Every statement
 * filters by `user_id` (and runs behind the owner's fence). The secret column is written here
 * and never selected: only the delivery queue reads it, to sign.
 */
import { Delivery, traced, Webhook, WebhookRepository } from "@taskport/core"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { iso, quotaSlot, repositoryErrors, withinBound } from "./SqlSupport.ts"

const COLUMNS = [
  "id",
  "url",
  "event_types",
  "description",
  "enabled",
  "disabled_reason",
  `${iso("created_at")} AS created_at`,
  `${iso("updated_at")} AS updated_at`
].join(", ")

const DELIVERY_COLUMNS = [
  "id",
  "event_id",
  "event_type",
  "status",
  "attempts",
  `CASE WHEN status IN ('pending', 'failed') THEN ${iso("next_attempt_at")} END AS next_attempt_at`,
  `${iso("last_attempt_at")} AS last_attempt_at`,
  "last_status_code",
  "last_error",
  "last_response_ms",
  `${iso("delivered_at")} AS delivered_at`,
  `${iso("created_at")} AS created_at`
].join(", ")

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(COLUMNS)
  const decodeWebhook = Schema.decodeUnknownExit(Webhook)
  const decodeDeliveries = Schema.decodeUnknownExit(Schema.Array(Delivery))
  const first = (rows: ReadonlyArray<unknown>) =>
    rows.length === 0 ? Effect.succeedNone : Effect.asSome(Effect.orDie(decodeWebhook(rows[0])))
  const types = (eventTypes: ReadonlyArray<string> | null) =>
    eventTypes === null ? null : JSON.stringify(eventTypes)

  return WebhookRepository.of(
    traced(WebhookRepository, "PgWebhookRepository", {
      insert: (owner, webhook, bound) =>
        sql`WITH ${quotaSlot(sql, owner, "webhooks", bound)}
          INSERT INTO webhooks (user_id, url, event_types, description, secret)
          SELECT ${owner}::text, ${webhook.url}::text, ${types(webhook.eventTypes)}::jsonb,
                 ${webhook.description}::text, ${webhook.secret}::text
          FROM slot
          RETURNING ${columns}`.pipe(
          Effect.flatMap((rows) => withinBound(rows, bound)),
          Effect.flatMap((rows) => Effect.orDie(decodeWebhook(rows[0]))),
          repositoryErrors
        ),

      list: (owner) =>
        sql`SELECT ${columns} FROM webhooks WHERE user_id = ${owner} ORDER BY created_at, id`.pipe(
          Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknownExit(Schema.Array(Webhook))(rows))),
          repositoryErrors
        ),

      find: (owner, id) =>
        sql`SELECT ${columns} FROM webhooks WHERE user_id = ${owner} AND id = ${id}`.pipe(
          Effect.flatMap(first),
          repositoryErrors
        ),

      update: (owner, id, patch) => {
        const sets = [sql`updated_at = now()`]
        if (patch.url !== undefined) sets.push(sql`url = ${patch.url}`)
        if (patch.eventTypes !== undefined) sets.push(sql`event_types = ${types(patch.eventTypes)}::jsonb`)
        if (patch.description !== undefined) sets.push(sql`description = ${patch.description}`)
        if (patch.enabled !== undefined) {
          sets.push(sql`enabled = ${patch.enabled}`)
          // Enabling starts afresh: the reason and the failure streak it was judged by are cleared.
          if (patch.enabled)
            sets.push(sql`disabled_reason = NULL`, sql`failing_since = NULL`, sql`give_ups_in_a_row = 0`)
        }
        return sql`UPDATE webhooks SET ${sql.join(", ", false)(sets)}
          WHERE user_id = ${owner} AND id = ${id} RETURNING ${columns}`.pipe(
          Effect.flatMap(first),
          repositoryErrors
        )
      },

      delete: (owner, id) =>
        sql`DELETE FROM webhooks WHERE user_id = ${owner} AND id = ${id} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          repositoryErrors
        ),

      rotateSecret: (owner, id, secret) =>
        sql`UPDATE webhooks SET secret = ${secret}, updated_at = now()
          WHERE user_id = ${owner} AND id = ${id} RETURNING ${columns}`.pipe(
          Effect.flatMap(first),
          repositoryErrors
        ),

      deliveries: (owner, id, query) =>
        Effect.gen(function* () {
          const found = yield* sql`SELECT 1 FROM webhooks WHERE user_id = ${owner} AND id = ${id}`
          if (found.length === 0) return yield* Effect.succeedNone
          const conditions = [sql`user_id = ${owner}`, sql`webhook_id = ${id}`]
          if (query.status !== undefined) conditions.push(sql`status = ${query.status}`)
          const rows = yield* sql`SELECT ${sql.literal(DELIVERY_COLUMNS)} FROM webhook_deliveries
            WHERE ${sql.and(conditions)} ORDER BY created_at DESC, id DESC LIMIT ${query.limit}`
          return yield* Effect.asSome(Effect.orDie(decodeDeliveries(rows)))
        }).pipe(repositoryErrors)
    })
  )
})

/** `WebhookRepository` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<WebhookRepository, never, SqlClient.SqlClient> = Layer.effect(
  WebhookRepository,
  make
)
