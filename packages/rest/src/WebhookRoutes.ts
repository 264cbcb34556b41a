/**
 * The webhook routes under `/webhooks`: register an endpoint (its secret is in this answer
 * only), list, read, change and delete endpoints, rotate a secret (the new one is in that
 * answer only) and read an endpoint's deliveries. Each passes its input to the webhook use
 * case, which decodes it; failures map to the one error shape.
 */
import {
  CreateWebhookParams,
  CurrentUser,
  DeliveryList,
  ListDeliveriesParams,
  type QuotaExceeded,
  type ToolFailure,
  UpdateWebhookParams,
  type UserId,
  Webhook,
  WebhookId,
  WebhookList,
  type WebhookNotFound,
  type WebhookServiceShape,
  WebhookWithSecret
} from "@taskport/core"
import { Effect, Schema } from "effect"
import type { H3Event } from "h3"
import { fromToolFailure, type HttpFailure, notFound, quotaExceeded } from "./HttpFailure.ts"
import { readJsonObject } from "./JsonBody.ts"
import { pathDecoder, queryDecoder } from "./RequestDecoding.ts"
import { json, noContent } from "./Responses.ts"
import type { Route } from "./Route.ts"
import { PREFIX_USER, PREFIX_V1, type RouteSpec } from "./Routes.ts"

export const WebhookPath = Schema.Struct({ id: WebhookId })

const { id: _updateId, ...updateFields } = UpdateWebhookParams.fields
/** PATCH body: the fields to change. */
export const PatchWebhookBody = Schema.Struct(updateFields).annotate({ identifier: "PatchWebhookBody" })
const { id: _listId, ...deliveryQueryFields } = ListDeliveriesParams.fields
export const DeliveriesQuery = Schema.Struct(deliveryQueryFields)

export type WebhookRouteKind = "create" | "list" | "read" | "patch" | "delete" | "rotate" | "deliveries"

export const webhookRoutes: ReadonlyArray<RouteSpec<WebhookRouteKind>> = [
  {
    kind: "create",
    method: "POST",
    path: "/webhooks",
    operationId: "webhook_create",
    summary: "Register a webhook endpoint; the answer carries its signing secret, shown this once",
    status: 201,
    body: CreateWebhookParams,
    bodyRequired: true,
    response: WebhookWithSecret
  },
  {
    kind: "list",
    method: "GET",
    path: "/webhooks",
    operationId: "webhook_list",
    summary: "List the user's webhook endpoints",
    status: 200,
    response: WebhookList
  },
  {
    kind: "read",
    method: "GET",
    path: "/webhooks/{id}",
    operationId: "webhook_read",
    summary: "Read a webhook endpoint (without its secret)",
    status: 200,
    params: WebhookPath,
    response: Webhook
  },
  {
    kind: "patch",
    method: "PATCH",
    path: "/webhooks/{id}",
    operationId: "webhook_update",
    summary: "Change an endpoint's URL, event types, description, or pause and resume it",
    status: 200,
    params: WebhookPath,
    body: PatchWebhookBody,
    bodyRequired: true,
    response: Webhook
  },
  {
    kind: "delete",
    method: "DELETE",
    path: "/webhooks/{id}",
    operationId: "webhook_delete",
    summary: "Delete an endpoint and its deliveries",
    status: 204,
    params: WebhookPath
  },
  {
    kind: "rotate",
    method: "POST",
    path: "/webhooks/{id}/rotate-secret",
    operationId: "webhook_rotate_secret",
    summary: "Replace the endpoint's signing secret; the answer carries the new one, shown this once",
    status: 200,
    params: WebhookPath,
    response: WebhookWithSecret
  },
  {
    kind: "deliveries",
    method: "GET",
    path: "/webhooks/{id}/deliveries",
    operationId: "webhook_deliveries",
    summary: "The endpoint's most recent deliveries: status, attempts, next attempt and last error",
    status: 200,
    params: WebhookPath,
    query: DeliveriesQuery,
    response: DeliveryList
  }
]

type WebhookFailure = ToolFailure | WebhookNotFound | QuotaExceeded

/** Maps a webhook use case's failure to HTTP. */
export const fromWebhookFailure = (failure: WebhookFailure): HttpFailure =>
  failure._tag === "WebhookNotFound"
    ? notFound(failure.message)
    : failure._tag === "QuotaExceeded"
      ? quotaExceeded(failure)
      : fromToolFailure(failure)

const decodeId = pathDecoder("id", WebhookId)
const decodeDeliveriesQuery = queryDecoder(DeliveriesQuery)
const encodeDeliveriesQuery = Schema.encodeSync(DeliveriesQuery)
const encodeWebhook = Schema.encodeSync(Webhook)
const encodeWithSecret = Schema.encodeSync(WebhookWithSecret)
const encodeList = Schema.encodeSync(WebhookList)
const encodeDeliveries = Schema.encodeSync(DeliveryList)

const handler =
  (route: RouteSpec<WebhookRouteKind>, limit: number, service: WebhookServiceShape, byPathUser: boolean) =>
  (event: H3Event, user: UserId): Effect.Effect<ReturnType<typeof json>, HttpFailure> =>
    Effect.gen(function* () {
      const run = <A, E extends WebhookFailure>(work: Effect.Effect<A, E, CurrentUser>) =>
        work.pipe(Effect.provideService(CurrentUser, { id: user }), Effect.mapError(fromWebhookFailure))
      const id = route.path.includes("{id}") ? yield* decodeId(event.context.params?.id) : undefined
      const body = () => Effect.map(readJsonObject(event.req, limit, true), (value) => value ?? {})
      switch (route.kind) {
        case "create": {
          const created = yield* run(service.create((yield* body()) as never))
          const prefix = byPathUser ? `/api/${encodeURIComponent(user)}` : PREFIX_V1
          return json(encodeWithSecret(created), 201, { location: `${prefix}/webhooks/${created.id}` })
        }
        case "list":
          return json(encodeList(yield* run(service.list)))
        case "read":
          return json(encodeWebhook(yield* run(service.read({ id: id! }))))
        case "patch": {
          const patch = yield* body()
          return json(encodeWebhook(yield* run(service.update({ ...patch, id: id! } as never))))
        }
        case "delete":
          yield* run(service.delete({ id: id! }))
          return noContent()
        case "rotate":
          return json(encodeWithSecret(yield* run(service.rotateSecret({ id: id! }))))
        case "deliveries": {
          const query = encodeDeliveriesQuery(yield* decodeDeliveriesQuery(event.req))
          return json(encodeDeliveries(yield* run(service.deliveries({ ...query, id: id! }))))
        }
      }
    })

/** The webhook routes, under both prefixes. */
export const routes = (limit: number, service: WebhookServiceShape): ReadonlyArray<Route> =>
  webhookRoutes.flatMap((route) =>
    [PREFIX_V1, PREFIX_USER].map((prefix): Route => {
      const handle = handler(route, limit, service, prefix === PREFIX_USER)
      return {
        access: "user",
        method: route.method,
        path: `${prefix}${route.path}`,
        handle: (event, _scope, user) => handle(event, user)
      }
    })
  )
