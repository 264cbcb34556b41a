/**
 * Port for making one delivery attempt: sign the body for the endpoint's secret and POST it.
 * The adapter knows HTTP, signing and the address guard; the outcome is all the dispatcher
 * needs to decide what happens next.
 */
import { Context, type Effect, type Redacted } from "effect"

export interface OutgoingDelivery {
  readonly url: string
  readonly secret: Redacted.Redacted<string>
  /** Sent as `webhook-id`: the same on every attempt, so receivers can drop repeats. */
  readonly messageId: string
  /** Sent as `webhook-timestamp`: seconds since the epoch, the attempt's own time. */
  readonly timestampSeconds: number
  /** The exact JSON text that is signed and sent. */
  readonly body: string
}

export type SendOutcome =
  /** The endpoint answered; only a 2xx status counts as delivered. */
  | {
      readonly _tag: "Answered"
      readonly status: number
      readonly retryAfterSeconds?: number | undefined
      readonly elapsedMs: number
    }
  /** No answer: refused address, connection failure or timeout, in a short reason. */
  | { readonly _tag: "NoAnswer"; readonly reason: string; readonly elapsedMs: number }

export class WebhookSender extends Context.Service<
  WebhookSender,
  { readonly send: (delivery: OutgoingDelivery) => Effect.Effect<SendOutcome> }
>()("@taskport/core/WebhookSender") {}
