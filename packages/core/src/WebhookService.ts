/**
 * The webhook use cases, each scoped to the `CurrentUser`: register an endpoint, list, read,
 * change, delete it, rotate its secret and read its deliveries. Each decodes its own input
 * with the operation's schema. A URL must pass the `UrlGuard` before it is stored, and a new
 * secret is made here, from the platform's cryptographic random source, and handed out once.
 */
import { Context, Effect, Layer, Option } from "effect"
import { CurrentUser } from "./CurrentUser.ts"
import { InvalidParameters, type QuotaExceeded, type RepositoryError, WebhookNotFound } from "./Errors.ts"
import type { QuotaBound } from "./Quotas.ts"
import { inputDecoder } from "./SchemaIssues.ts"
import { UrlGuard } from "./UrlGuard.ts"
import {
  type CreateWebhookInput,
  CreateWebhookParams,
  type DeliveryList,
  type ListDeliveriesInput,
  ListDeliveriesParams,
  type UpdateWebhookInput,
  UpdateWebhookParams,
  type Webhook,
  type WebhookList,
  WebhookRef,
  type WebhookRefInput,
  type WebhookWithSecret
} from "./Webhook.ts"
import { type WebhookPatch, WebhookRepository } from "./WebhookRepository.ts"

/** Endpoints one user may register: each event is sent to every one of them. */
export const MAX_WEBHOOKS_PER_USER = 10

const WEBHOOKS_BOUND: QuotaBound = { quota: "webhooks_per_user", limit: MAX_WEBHOOKS_PER_USER }

/** 32 random bytes (the spec asks for 24 to 64) in the `whsec_` + base64 form. */
export const generateSecret = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `whsec_${btoa(String.fromCharCode(...bytes))}`
}

const decodeCreate = inputDecoder(CreateWebhookParams)
const decodeRef = inputDecoder(WebhookRef)
const decodeUpdate = inputDecoder(UpdateWebhookParams)
const decodeDeliveries = inputDecoder(ListDeliveriesParams)

type Failure = InvalidParameters | WebhookNotFound | RepositoryError

export interface WebhookServiceShape {
  readonly create: (
    input: CreateWebhookInput
  ) => Effect.Effect<WebhookWithSecret, InvalidParameters | QuotaExceeded | RepositoryError, CurrentUser>
  readonly list: Effect.Effect<WebhookList, RepositoryError, CurrentUser>
  readonly read: (input: WebhookRefInput) => Effect.Effect<Webhook, Failure, CurrentUser>
  readonly update: (input: UpdateWebhookInput) => Effect.Effect<Webhook, Failure, CurrentUser>
  readonly delete: (input: WebhookRefInput) => Effect.Effect<void, Failure, CurrentUser>
  readonly rotateSecret: (input: WebhookRefInput) => Effect.Effect<WebhookWithSecret, Failure, CurrentUser>
  readonly deliveries: (input: ListDeliveriesInput) => Effect.Effect<DeliveryList, Failure, CurrentUser>
}

const make = Effect.gen(function* () {
  const repo = yield* WebhookRepository
  const guard = yield* UrlGuard

  const guarded = (url: string) =>
    guard
      .check(url)
      .pipe(
        Effect.mapError(
          ({ reason }) => new InvalidParameters({ issues: [{ field: "url", message: reason }] })
        )
      )

  const found = <A>(id: string) =>
    Effect.flatMap((value: Option.Option<A>) =>
      Option.match(value, {
        onNone: () => Effect.fail(new WebhookNotFound({ id })),
        onSome: (a) => Effect.succeed(a)
      })
    )

  const create: WebhookServiceShape["create"] = Effect.fn("WebhookService.create")(function* (input) {
    const params = yield* decodeCreate(input)
    const user = yield* CurrentUser
    yield* guarded(params.url)
    const secret = generateSecret()
    const webhook = yield* repo.insert(
      user.id,
      { url: params.url, eventTypes: params.event_types, description: params.description, secret },
      WEBHOOKS_BOUND
    )
    return { ...webhook, secret }
  })

  const list: WebhookServiceShape["list"] = Effect.gen(function* () {
    const user = yield* CurrentUser
    return { items: yield* repo.list(user.id) }
  }).pipe(Effect.withSpan("WebhookService.list"))

  const read: WebhookServiceShape["read"] = Effect.fn("WebhookService.read")(function* (input) {
    const { id } = yield* decodeRef(input)
    const user = yield* CurrentUser
    return yield* repo.find(user.id, id).pipe(found<Webhook>(id))
  })

  const update: WebhookServiceShape["update"] = Effect.fn("WebhookService.update")(function* (input) {
    const params = yield* decodeUpdate(input)
    const user = yield* CurrentUser
    const patch: { -readonly [K in keyof WebhookPatch]: WebhookPatch[K] } = {}
    if (params.url !== undefined) {
      yield* guarded(params.url)
      patch.url = params.url
    }
    if (params.event_types !== undefined) patch.eventTypes = params.event_types
    if (params.description !== undefined) patch.description = params.description
    if (params.enabled !== undefined) patch.enabled = params.enabled
    return yield* repo.update(user.id, params.id, patch).pipe(found<Webhook>(params.id))
  })

  const remove: WebhookServiceShape["delete"] = Effect.fn("WebhookService.delete")(function* (input) {
    const { id } = yield* decodeRef(input)
    const user = yield* CurrentUser
    if (!(yield* repo.delete(user.id, id))) return yield* new WebhookNotFound({ id })
  })

  const rotateSecret: WebhookServiceShape["rotateSecret"] = Effect.fn("WebhookService.rotateSecret")(
    function* (input) {
      const { id } = yield* decodeRef(input)
      const user = yield* CurrentUser
      const secret = generateSecret()
      const webhook = yield* repo.rotateSecret(user.id, id, secret).pipe(found<Webhook>(id))
      return { ...webhook, secret }
    }
  )

  const deliveries: WebhookServiceShape["deliveries"] = Effect.fn("WebhookService.deliveries")(
    function* (input) {
      const params = yield* decodeDeliveries(input)
      const user = yield* CurrentUser
      const items = yield* repo
        .deliveries(user.id, params.id, {
          limit: params.limit,
          ...(params.status === undefined ? {} : { status: params.status })
        })
        .pipe(found<ReadonlyArray<DeliveryList["items"][number]>>(params.id))
      return { items }
    }
  )

  return WebhookService.of({ create, list, read, update, delete: remove, rotateSecret, deliveries })
})

export class WebhookService extends Context.Service<WebhookService, WebhookServiceShape>()(
  "@taskport/core/WebhookService"
) {
  static readonly layer: Layer.Layer<WebhookService, never, WebhookRepository | UrlGuard> = Layer.effect(
    this,
    make
  )
}
