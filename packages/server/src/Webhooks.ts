/**
 * The webhook settings and their background worker. The worker is a scoped fiber of the
 * serving process: each round fans new outbox events out into deliveries and makes the
 * attempts that are due, then waits for the poll interval or the outbox's next notification
 * (at once again when a round was full). Every step is claimed in the database, so any number of processes run it together.
 */
import {
  type DeliveryQueue,
  type DispatchOptions,
  dispatchOnce,
  type EventCursors,
  fanOut,
  type WebhookSender
} from "@taskport/core"
import { AddressGuard, HttpWebhookSender } from "@taskport/webhooks"
import { Duration, Effect, Layer, type Scope } from "effect"
import type { ServerConfig } from "./ServerConfig.ts"
import { idleWait } from "./Wakeups.ts"

export const dispatchOptions = (config: ServerConfig): DispatchOptions => ({
  policy: {
    firstDelay: Duration.millis(config.webhookRetryFirstDelayMs),
    maxDelay: Duration.millis(Math.max(config.webhookRetryFirstDelayMs, config.webhookRetryMaxDelayMs)),
    retryFor: Duration.hours(config.webhookRetryHours),
    health: {
      failingForMillis: Duration.toMillis(Duration.hours(config.webhookDisableAfterHours)),
      giveUpsInARow: config.webhookDisableAfterGiveUps
    }
  },
  batch: 20,
  // A lease never runs out before the attempt it covers could have: the timeout, and some slack.
  lease: Duration.millis(Math.max(config.webhookLeaseMs, config.webhookTimeoutMs + 1_000)),
  concurrency: 8
})

/** The address guard and the sender, both bound by `WEBHOOK_ALLOW_PRIVATE`. */
export const layer = (config: ServerConfig) =>
  Layer.merge(
    AddressGuard.layer({ allowPrivate: config.webhookAllowPrivate }),
    HttpWebhookSender.layer({
      allowPrivate: config.webhookAllowPrivate,
      timeout: Duration.millis(config.webhookTimeoutMs)
    })
  )

const DRAIN = { users: 50, events: 100 }

/** One round: fan out, then attempt what is due; true when there may be more to do at once. */
export const round = (options: DispatchOptions) =>
  Effect.gen(function* () {
    const fanned = yield* fanOut(DRAIN)
    const attempted = yield* dispatchOnce(options)
    return fanned >= DRAIN.events || attempted >= options.batch
  })

/**
 * Runs rounds for as long as the enclosing scope is open, each after the poll interval or as
 * soon as new events are committed; a failed round is logged and retried.
 */
export const dispatching = (
  config: ServerConfig
): Effect.Effect<void, never, DeliveryQueue | EventCursors | WebhookSender | Scope.Scope> => {
  const options = dispatchOptions(config)
  return Effect.gen(function* () {
    const idle = yield* idleWait(Duration.millis(config.webhookPollMs))
    return yield* round(options).pipe(
      Effect.catch((error) =>
        Effect.as(
          Effect.logWarning("webhook round failed").pipe(Effect.annotateLogs({ error: error._tag })),
          false
        )
      ),
      Effect.flatMap((busy) => (busy ? Effect.void : idle)),
      Effect.forever
    )
  }).pipe(Effect.forkScoped, Effect.asVoid)
}
