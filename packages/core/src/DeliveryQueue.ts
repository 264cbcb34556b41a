/**
 * Port for the webhook delivery queue, shared by every server process: one row per event and
 * endpoint, claimed for an attempt under a lease so that each attempt is made by one process,
 * and taken over by another once the lease runs out (a process killed mid-attempt). Times
 * are passed in from the caller's `Clock`, so the schedule follows whichever clock runs it.
 */
import { Context, type Effect, type Redacted } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { RepositoryError } from "./Errors.ts"
import type { DeliveryId, WebhookId } from "./Webhook.ts"

/** An event to deliver to every enabled endpoint of its owner that wants its type. */
export interface QueuedEvent {
  readonly owner: UserId
  readonly eventId: string
  readonly eventType: string
  /** The JSON body, rendered once so that every attempt signs and sends the same text. */
  readonly body: string
}

export interface ClaimedDelivery {
  readonly id: DeliveryId
  readonly webhookId: WebhookId
  readonly url: string
  readonly secret: Redacted.Redacted<string>
  readonly eventId: string
  readonly body: string
  /** Attempts made so far, this one included. */
  readonly attempt: number
  /** When the delivery was queued: the retry window counts from here. */
  readonly queuedAtMillis: number
}

export interface ClaimOptions {
  readonly nowMillis: number
  readonly limit: number
  readonly leaseMillis: number
  /** Names this claim: only its holder may record the attempt's result. */
  readonly token: string
}

interface Attempted {
  readonly atMillis: number
  readonly statusCode: number | null
  readonly responseMs: number
}

/** What became of an attempt. */
export type AttemptResult =
  | ({ readonly _tag: "Delivered" } & Attempted)
  | ({ readonly _tag: "Retry"; readonly nextAtMillis: number; readonly error: string } & Attempted)
  | ({
      readonly _tag: "GiveUp"
      readonly error: string
      /** Set when the endpoint itself asked to stop (410 Gone): it is disabled at once. */
      readonly disable?: string | undefined
    } & Attempted)

/** When an endpoint that keeps failing is disabled. */
export interface EndpointHealth {
  /** Every attempt failed for this long (no delivery in between). */
  readonly failingForMillis: number
  /** This many deliveries in a row were given up. */
  readonly giveUpsInARow: number
}

export class DeliveryQueue extends Context.Service<
  DeliveryQueue,
  {
    /** Queues the events for the endpoints that want them; an event already queued is not queued again. */
    readonly enqueue: (
      events: ReadonlyArray<QueuedEvent>,
      nowMillis: number
    ) => Effect.Effect<number, RepositoryError>
    /** Claims up to `limit` deliveries that are due and not held by a live lease, counting the attempt. */
    readonly claim: (options: ClaimOptions) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, RepositoryError>
    /**
     * Records the attempt's result and the endpoint's health, disabling an endpoint that keeps
     * failing. False when the claim was lost (its lease ran out and another process took over).
     */
    readonly record: (
      id: DeliveryId,
      token: string,
      result: AttemptResult,
      health: EndpointHealth
    ) => Effect.Effect<boolean, RepositoryError>
  }
>()("@taskport/core/DeliveryQueue") {}
