/**
 * The webhook domain: an endpoint a user registers to receive their task events, signed per
 * the Standard Webhooks scheme, and the record of each delivery of an event to it. Every field
 * is defined here once; the REST routes, the OpenAPI document and row decoding derive from it.
 */
import { Schema } from "effect"
import { defaulted, isStorableText, omittable } from "./Task.ts"
import { TaskEventType } from "./TaskEvent.ts"

export const WebhookId = Schema.String.check(Schema.isUUID())
  .pipe(Schema.brand("WebhookId"))
  .annotate({ description: "The webhook endpoint's id (a UUID)." })
export type WebhookId = typeof WebhookId.Type

export const DeliveryId = Schema.String.check(Schema.isUUID())
  .pipe(Schema.brand("DeliveryId"))
  .annotate({ description: "The delivery's id (a UUID)." })
export type DeliveryId = typeof DeliveryId.Type

/** Every event type a webhook can receive: those of the outbox (`task.reminder` included). */
export const WebhookEventType = TaskEventType
export const WEBHOOK_EVENT_TYPES = TaskEventType.literals
export type WebhookEventType = typeof WebhookEventType.Type

export const WebhookUrl = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(2048),
  isStorableText,
  Schema.makeFilter(
    (s: string) => {
      try {
        const url = new URL(s)
        return url.protocol === "http:" || url.protocol === "https:"
      } catch {
        return false
      }
    },
    { message: "must be an http:// or https:// URL" }
  ),
  Schema.makeFilter(
    (s: string) => {
      try {
        const url = new URL(s)
        return url.username === "" && url.password === ""
      } catch {
        return true
      }
    },
    { message: "must not carry a user name or password" }
  )
).annotate({
  description: "Where deliveries are POSTed: an http(s) URL on a public address."
})

export const WebhookEventTypes = Schema.NullOr(
  Schema.Array(WebhookEventType).check(Schema.isMinLength(1), Schema.isMaxLength(WEBHOOK_EVENT_TYPES.length))
).annotate({ description: "The event types to receive; null (the default) means every type." })

export const WebhookDescription = Schema.NullOr(
  Schema.String.check(Schema.isMaxLength(500), isStorableText)
).annotate({ description: "A note for the user, at most 500 characters." })

/**
 * A signing secret in the Standard Webhooks form, `whsec_` then the base64 of 32 random bytes.
 * The server shows it only when it creates it.
 */
export const WebhookSecret = Schema.String.check(Schema.isPattern(/^whsec_[A-Za-z0-9+/]+={0,2}$/)).annotate({
  description:
    "The signing secret (whsec_ + base64). Shown only in the create and rotate answers: keep it; it cannot be read again."
})

const Timestamp = (description: string) => Schema.String.annotate({ description })

export const Webhook = Schema.Struct({
  id: WebhookId,
  url: WebhookUrl,
  event_types: WebhookEventTypes,
  description: WebhookDescription,
  enabled: Schema.Boolean.annotate({ description: "Whether deliveries are made." }),
  disabled_reason: Schema.NullOr(Schema.String).annotate({
    description: "Why Taskport disabled the endpoint (it kept failing), or null; enabling it clears this."
  }),
  created_at: Timestamp("When the endpoint was registered (ISO 8601)."),
  updated_at: Timestamp("When the endpoint last changed (ISO 8601).")
}).annotate({ identifier: "Webhook", description: "A webhook endpoint of the calling user." })
export type Webhook = typeof Webhook.Type

/** The answer of create and rotate: the endpoint and, this once, its secret. */
export const WebhookWithSecret = Schema.Struct({ ...Webhook.fields, secret: WebhookSecret }).annotate({
  identifier: "WebhookWithSecret",
  description: "A webhook endpoint with its signing secret, shown this once."
})
export type WebhookWithSecret = typeof WebhookWithSecret.Type

export const WebhookList = Schema.Struct({ items: Schema.Array(Webhook) }).annotate({
  identifier: "WebhookList",
  description: "The calling user's webhook endpoints, oldest first."
})
export type WebhookList = typeof WebhookList.Type

export const CreateWebhookParams = Schema.Struct({
  url: WebhookUrl,
  event_types: defaulted(WebhookEventTypes, null),
  description: defaulted(WebhookDescription, null)
}).annotate({ identifier: "CreateWebhook" })
export type CreateWebhookParams = typeof CreateWebhookParams.Type
export type CreateWebhookInput = typeof CreateWebhookParams.Encoded

export const WebhookRef = Schema.Struct({ id: WebhookId })
export type WebhookRefInput = typeof WebhookRef.Encoded

export const UpdateWebhookParams = Schema.Struct({
  id: WebhookId,
  url: omittable(WebhookUrl),
  event_types: Schema.optionalKey(WebhookEventTypes),
  description: Schema.optionalKey(WebhookDescription),
  enabled: omittable(
    Schema.Boolean.annotate({
      description: "false pauses deliveries; true resumes them and clears disabled_reason."
    })
  )
})
export type UpdateWebhookParams = typeof UpdateWebhookParams.Type
export type UpdateWebhookInput = typeof UpdateWebhookParams.Encoded

export const DeliveryStatus = Schema.Literals(["pending", "delivered", "failed", "given_up"]).annotate({
  description:
    "pending: not tried yet; failed: the last attempt failed and another is scheduled; delivered: answered 2xx; given_up: no more attempts."
})
export type DeliveryStatus = typeof DeliveryStatus.Type

export const Delivery = Schema.Struct({
  id: DeliveryId,
  event_id: Schema.String.annotate({ description: "The event's id, sent as webhook-id on every attempt." }),
  event_type: Schema.String.annotate({ description: "The event's type." }),
  status: DeliveryStatus,
  attempts: Schema.Int.annotate({ description: "Attempts made so far." }),
  next_attempt_at: Schema.NullOr(Timestamp("When the next attempt is due, or null when none is.")),
  last_attempt_at: Schema.NullOr(Timestamp("When the last attempt was made.")),
  last_status_code: Schema.NullOr(Schema.Int).annotate({
    description: "The HTTP status the endpoint last answered, or null when it did not answer."
  }),
  last_error: Schema.NullOr(Schema.String).annotate({
    description: "Why the last attempt failed: a status code or a short reason."
  }),
  last_response_ms: Schema.NullOr(Schema.Int).annotate({
    description: "How long the last attempt took, in milliseconds."
  }),
  delivered_at: Schema.NullOr(Timestamp("When the endpoint accepted the event.")),
  created_at: Timestamp("When the delivery was queued.")
}).annotate({ identifier: "Delivery", description: "One event's delivery to one endpoint." })
export type Delivery = typeof Delivery.Type

export const ListDeliveriesParams = Schema.Struct({
  id: WebhookId,
  status: omittable(DeliveryStatus),
  limit: defaulted(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })).annotate({
      description: "How many deliveries, newest first: 1 to 100 (default 50)."
    }),
    50
  )
})
export type ListDeliveriesInput = typeof ListDeliveriesParams.Encoded

export const DeliveryList = Schema.Struct({ items: Schema.Array(Delivery) }).annotate({
  identifier: "DeliveryList",
  description: "An endpoint's most recent deliveries, newest first."
})
export type DeliveryList = typeof DeliveryList.Type

/** The body of every delivery (Standard Webhooks' recommended shape). */
export interface WebhookPayload {
  readonly type: string
  readonly timestamp: string
  readonly data: unknown
}
