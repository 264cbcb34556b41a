/**
 * Port for storing a user's webhook endpoints and reading their deliveries. Like every
 * owner-scoped repository, each method takes the owner first and behaves as if other users'
 * rows did not exist. The secret is stored so deliveries can be signed, and is returned by
 * no read: only the use case that makes one hands it out.
 */
import { Context, type Effect, type Option } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { QuotaExceeded, RepositoryError } from "./Errors.ts"
import type { QuotaBound } from "./Quotas.ts"
import type { Delivery, DeliveryStatus, Webhook, WebhookEventType, WebhookId } from "./Webhook.ts"

export interface NewWebhook {
  readonly url: string
  readonly eventTypes: ReadonlyArray<WebhookEventType> | null
  readonly description: string | null
  readonly secret: string
}

/** Fields to change; an absent key is left as it is. Enabling clears the reason it was disabled. */
export interface WebhookPatch {
  readonly url?: string
  readonly eventTypes?: ReadonlyArray<WebhookEventType> | null
  readonly description?: string | null
  readonly enabled?: boolean
}

export interface DeliveryQuery {
  readonly status?: DeliveryStatus
  readonly limit: number
}

export class WebhookRepository extends Context.Service<
  WebhookRepository,
  {
    /** Inserts the endpoint unless the owner is at `bound`, then refused with `QuotaExceeded`. */
    readonly insert: (
      owner: UserId,
      webhook: NewWebhook,
      bound: QuotaBound | undefined
    ) => Effect.Effect<Webhook, RepositoryError | QuotaExceeded>
    readonly list: (owner: UserId) => Effect.Effect<ReadonlyArray<Webhook>, RepositoryError>
    readonly find: (owner: UserId, id: WebhookId) => Effect.Effect<Option.Option<Webhook>, RepositoryError>
    readonly update: (
      owner: UserId,
      id: WebhookId,
      patch: WebhookPatch
    ) => Effect.Effect<Option.Option<Webhook>, RepositoryError>
    /** Removes the endpoint and its deliveries; false when there was none. */
    readonly delete: (owner: UserId, id: WebhookId) => Effect.Effect<boolean, RepositoryError>
    /** Replaces the signing secret; deliveries from now on are signed with the new one. */
    readonly rotateSecret: (
      owner: UserId,
      id: WebhookId,
      secret: string
    ) => Effect.Effect<Option.Option<Webhook>, RepositoryError>
    /** The endpoint's most recent deliveries, newest first; none when there is no such endpoint. */
    readonly deliveries: (
      owner: UserId,
      id: WebhookId,
      query: DeliveryQuery
    ) => Effect.Effect<Option.Option<ReadonlyArray<Delivery>>, RepositoryError>
  }
>()("@taskport/core/WebhookRepository") {}
