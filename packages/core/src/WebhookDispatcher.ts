/**
 * The delivery rules: what an attempt's outcome means (only 2xx delivers; 410 Gone asks to
 * stop), when the next attempt comes (exponential backoff with jitter, never sooner than a
 * Retry-After, within a retry window counted from when the delivery was queued), and one
 * dispatch round: claim the due deliveries, attempt each, record each result. Time comes from
 * `Clock` and jitter from `Random`, so a test clock drives the whole schedule.
 */
import { Clock, Duration, Effect, Random, Schema } from "effect"
import {
  type AttemptResult,
  type ClaimedDelivery,
  DeliveryQueue,
  type EndpointHealth,
  type QueuedEvent
} from "./DeliveryQueue.ts"
import type { RepositoryError } from "./Errors.ts"
import { type DrainOptions, EventCursors } from "./EventCursors.ts"
import { TaskEvent } from "./TaskEvent.ts"
import type { WebhookPayload } from "./Webhook.ts"
import { type SendOutcome, WebhookSender } from "./WebhookSender.ts"

export interface RetryPolicy {
  /** The wait after the first failure; it doubles after each later one. */
  readonly firstDelay: Duration.Duration
  /** The longest wait between two attempts. */
  readonly maxDelay: Duration.Duration
  /** How long after being queued a delivery is still tried; then it is given up. */
  readonly retryFor: Duration.Duration
  readonly health: EndpointHealth
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  firstDelay: Duration.seconds(5),
  maxDelay: Duration.hours(2),
  retryFor: Duration.hours(24),
  health: { failingForMillis: Duration.toMillis(Duration.hours(24)), giveUpsInARow: 5 }
}

/**
 * The wait before attempt `failed + 1` after `failed` failures: the first delay doubled per
 * failure, capped, then scaled by a random factor in [0.5, 1) so that endpoints failing
 * together do not all come back at once.
 */
export const backoff = (failed: number, policy: RetryPolicy, random01: number): number => {
  const base = Duration.toMillis(policy.firstDelay) * 2 ** Math.max(0, failed - 1)
  const capped = Math.min(Duration.toMillis(policy.maxDelay), base)
  return Math.round(capped * (0.5 + random01 / 2))
}

const isDelivered = (outcome: SendOutcome) =>
  outcome._tag === "Answered" && outcome.status >= 200 && outcome.status < 300

/** What an attempt's outcome means for its delivery. */
export const decide = (
  delivery: ClaimedDelivery,
  outcome: SendOutcome,
  nowMillis: number,
  policy: RetryPolicy,
  random01: number
): AttemptResult => {
  const attempted = {
    atMillis: nowMillis,
    statusCode: outcome._tag === "Answered" ? outcome.status : null,
    responseMs: Math.round(outcome.elapsedMs)
  }
  if (isDelivered(outcome)) return { _tag: "Delivered", ...attempted }
  const error = outcome._tag === "Answered" ? `HTTP ${outcome.status}` : outcome.reason
  if (outcome._tag === "Answered" && outcome.status === 410) {
    return { _tag: "GiveUp", ...attempted, error, disable: "the endpoint answered 410 Gone" }
  }
  const retryAfter = outcome._tag === "Answered" ? (outcome.retryAfterSeconds ?? 0) * 1000 : 0
  const wait = Math.min(
    Math.max(backoff(delivery.attempt, policy, random01), retryAfter),
    Duration.toMillis(policy.maxDelay)
  )
  const nextAtMillis = nowMillis + wait
  return nextAtMillis > delivery.queuedAtMillis + Duration.toMillis(policy.retryFor)
    ? { _tag: "GiveUp", ...attempted, error }
    : { _tag: "Retry", ...attempted, error, nextAtMillis }
}

/** The body of a delivery: `{ type, timestamp, data }`, as JSON text. */
export const renderPayload = (payload: WebhookPayload): string => JSON.stringify(payload)

/** Queues events for delivery at the clock's time. */
export const enqueue = (events: ReadonlyArray<QueuedEvent>) =>
  Effect.gen(function* () {
    if (events.length === 0) return 0
    const queue = yield* DeliveryQueue
    return yield* queue.enqueue(events, yield* Clock.currentTimeMillis)
  })

export interface DispatchOptions {
  readonly policy: RetryPolicy
  /** Deliveries claimed per round. */
  readonly batch: number
  /** How long a claim holds before another process may take the delivery over. */
  readonly lease: Duration.Duration
  /** Attempts in flight at once. */
  readonly concurrency: number
}

/**
 * One round: claims the deliveries that are due, attempts each and records its result.
 * Returns how many were claimed, so a caller can go again at once when the batch was full.
 */
export const dispatchOnce = (
  options: DispatchOptions
): Effect.Effect<number, RepositoryError, DeliveryQueue | WebhookSender> =>
  Effect.gen(function* () {
    const queue = yield* DeliveryQueue
    const sender = yield* WebhookSender
    const token = crypto.randomUUID()
    const claimed = yield* queue.claim({
      nowMillis: yield* Clock.currentTimeMillis,
      limit: options.batch,
      leaseMillis: Duration.toMillis(options.lease),
      token
    })
    yield* Effect.forEach(
      claimed,
      (delivery) =>
        Effect.gen(function* () {
          const startedAt = yield* Clock.currentTimeMillis
          const outcome = yield* sender.send({
            url: delivery.url,
            secret: delivery.secret,
            messageId: delivery.eventId,
            timestampSeconds: Math.floor(startedAt / 1000),
            body: delivery.body
          })
          const result = decide(
            delivery,
            outcome,
            yield* Clock.currentTimeMillis,
            options.policy,
            yield* Random.next
          )
          const kept = yield* queue.record(delivery.id, token, result, options.policy.health)
          if (!kept) {
            yield* Effect.logWarning("webhook delivery was taken over before its result was recorded").pipe(
              Effect.annotateLogs({ delivery_id: delivery.id })
            )
          }
        }),
      { concurrency: options.concurrency, discard: true }
    )
    return claimed.length
  }).pipe(Effect.withSpan("WebhookDispatcher.dispatchOnce"))

/** The outbox consumer that turns task events into deliveries. */
export const WEBHOOK_CONSUMER = "webhooks"

const encodeEvent = Schema.encodeSync(TaskEvent)

/**
 * Queues deliveries for the events not yet fanned out: each event, as its JSON form under
 * `data`, for every endpoint of its owner that wants its type, in one statement for the whole
 * round. The cursors move in the same transaction as the queued rows, so an event is fanned
 * out exactly once.
 */
export const fanOut = (options: DrainOptions) =>
  Effect.flatMap(EventCursors, (cursors) =>
    cursors.drain(WEBHOOK_CONSUMER, options, (round) =>
      Effect.as(
        enqueue(
          round.flatMap(({ owner, events }) =>
            events.map((event) => ({
              owner,
              eventId: event.id,
              eventType: event.type,
              body: renderPayload({
                type: event.type,
                timestamp: event.occurred_at,
                data: encodeEvent(event)
              })
            }))
          )
        ),
        round.map(({ events }) => events.length)
      )
    )
  ).pipe(Effect.withSpan("WebhookDispatcher.fanOut"))
