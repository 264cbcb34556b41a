/**
 * `DeliveryQueue` over `effect/sql`: the webhook deliveries of every user, which the
 * dispatchers of all server processes share. A claim is one statement that takes due rows
 * with `FOR UPDATE SKIP LOCKED` and stamps them with the claimant's token and a lease, so two
 * processes never claim the same delivery while the lease holds; once it runs out (the
 * claimant died mid-attempt) the row is due again and another process takes it over.
 * A result is recorded only under the token that claimed it. Like the retention sweep, it
 * works across users and so runs outside any owner's fence.
 */
import { type AttemptResult, DeliveryQueue, traced } from "@taskport/core"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { repositoryErrors } from "./SqlSupport.ts"

interface ClaimRow {
  readonly id: string
  readonly webhook_id: string
  readonly url: string
  readonly secret: string
  readonly event_id: string
  readonly payload: string
  readonly attempts: number
  readonly queued_at: number
}

// Reasons are short by construction; the column's limit is kept even for an odd one.
const clip = (text: string) => (text.length > 200 ? `${text.slice(0, 197)}...` : text)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const at = (millis: number) => sql`to_timestamp(${millis}::float8 / 1000)`

  /** Disables an endpoint and gives up what it still had to receive. */
  const disable = (webhookId: string, reason: string, atMillis: number) =>
    Effect.gen(function* () {
      const changed =
        yield* sql`UPDATE webhooks SET enabled = false, disabled_reason = ${reason}, updated_at = now()
        WHERE id = ${webhookId} AND enabled RETURNING id`
      if (changed.length === 0) return
      yield* sql`UPDATE webhook_deliveries
        SET status = 'given_up', next_attempt_at = NULL, locked_by = NULL, locked_until = NULL,
            last_error = COALESCE(last_error, 'endpoint disabled')
        WHERE webhook_id = ${webhookId} AND status IN ('pending', 'failed')
          AND (locked_until IS NULL OR locked_until <= ${at(atMillis)})`
    })

  const health = (
    webhookId: string,
    result: AttemptResult,
    limits: { readonly failingForMillis: number; readonly giveUpsInARow: number }
  ) =>
    Effect.gen(function* () {
      if (result._tag === "Delivered") {
        yield* sql`UPDATE webhooks SET failing_since = NULL, give_ups_in_a_row = 0 WHERE id = ${webhookId}`
        return
      }
      const rows = yield* sql<{ failing_for: number; give_ups: number }>`UPDATE webhooks
        SET failing_since = COALESCE(failing_since, ${at(result.atMillis)}),
            give_ups_in_a_row = give_ups_in_a_row + ${result._tag === "GiveUp" ? 1 : 0}
        WHERE id = ${webhookId}
        RETURNING (extract(epoch from (${at(result.atMillis)} - failing_since)) * 1000)::float8 AS failing_for,
                  give_ups_in_a_row AS give_ups`
      const row = rows[0]
      if (row === undefined) return
      const reason =
        result._tag === "GiveUp" && result.disable !== undefined
          ? result.disable
          : row.give_ups >= limits.giveUpsInARow
            ? `${row.give_ups} deliveries in a row were given up`
            : row.failing_for >= limits.failingForMillis
              ? `every delivery failed for ${Math.round(row.failing_for / 3_600_000)} hours`
              : undefined
      if (reason !== undefined) yield* disable(webhookId, reason, result.atMillis)
    })

  return DeliveryQueue.of(
    traced(DeliveryQueue, "PgDeliveryQueue", {
      // One statement for the whole batch: atomic without a transaction of its own, and one
      // round trip however many events and endpoints it fans out to.
      enqueue: (events, nowMillis) =>
        events.length === 0
          ? Effect.succeed(0)
          : Effect.map(
              sql`INSERT INTO webhook_deliveries
                  (webhook_id, user_id, event_id, event_type, payload, next_attempt_at, created_at)
                SELECT w.id, w.user_id, e.event_id, e.event_type, e.payload, ${at(nowMillis)}, ${at(nowMillis)}
                FROM jsonb_to_recordset(${JSON.stringify(
                  events.map((event) => ({
                    owner: event.owner,
                    event_id: event.eventId,
                    event_type: event.eventType,
                    payload: event.body
                  }))
                )}::jsonb) AS e (owner text, event_id text, event_type text, payload text)
                JOIN webhooks w ON w.user_id = e.owner AND w.enabled
                  AND (w.event_types IS NULL OR w.event_types @> jsonb_build_array(e.event_type))
                ON CONFLICT (webhook_id, event_id) DO NOTHING
                RETURNING id`,
              (rows) => rows.length
            ).pipe(repositoryErrors),

      claim: (options) =>
        sql<ClaimRow>`WITH due AS (
            SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
            WHERE d.status IN ('pending', 'failed') AND w.enabled
              AND d.next_attempt_at <= ${at(options.nowMillis)}
              AND (d.locked_until IS NULL OR d.locked_until <= ${at(options.nowMillis)})
            ORDER BY d.next_attempt_at, d.id
            LIMIT ${options.limit}
            FOR UPDATE OF d SKIP LOCKED
          )
          UPDATE webhook_deliveries d
          SET locked_by = ${options.token}::uuid,
              locked_until = ${at(options.nowMillis + options.leaseMillis)},
              attempts = d.attempts + 1
          FROM due, webhooks w
          WHERE d.id = due.id AND w.id = d.webhook_id
          RETURNING d.id, d.webhook_id, w.url, w.secret, d.event_id, d.payload, d.attempts,
            (extract(epoch from d.created_at) * 1000)::float8 AS queued_at`.pipe(
          Effect.map((rows) =>
            rows.map((row) => ({
              id: row.id as never,
              webhookId: row.webhook_id as never,
              url: row.url,
              secret: Redacted.make(row.secret),
              eventId: row.event_id,
              body: row.payload,
              attempt: row.attempts,
              queuedAtMillis: row.queued_at
            }))
          ),
          repositoryErrors
        ),

      record: (id, token, result, limits) =>
        Effect.gen(function* () {
          const status =
            result._tag === "Delivered" ? "delivered" : result._tag === "Retry" ? "failed" : "given_up"
          const next = result._tag === "Retry" ? at(result.nextAtMillis) : sql`NULL`
          const error = result._tag === "Delivered" ? null : clip(result.error)
          const rows = yield* sql<{ webhook_id: string }>`UPDATE webhook_deliveries
            SET status = ${status}, next_attempt_at = ${next}, locked_by = NULL, locked_until = NULL,
                last_attempt_at = ${at(result.atMillis)}, last_status_code = ${result.statusCode},
                last_error = ${error}, last_response_ms = ${result.responseMs},
                delivered_at = ${result._tag === "Delivered" ? at(result.atMillis) : sql`NULL`}
            WHERE id = ${id} AND locked_by = ${token}::uuid
            RETURNING webhook_id`
          const row = rows[0]
          if (row === undefined) return false
          yield* health(row.webhook_id, result, limits)
          return true
        }).pipe(sql.withTransaction, repositoryErrors)
    })
  )
})

/** `DeliveryQueue` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<DeliveryQueue, never, SqlClient.SqlClient> = Layer.effect(DeliveryQueue, make)
