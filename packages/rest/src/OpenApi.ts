/**
 * The OpenAPI 3.1 document of the REST surface, derived from the route table and the core's
 * schemas through Effect's JSON Schema output: no schema is written by hand here, and path,
 * query and header parameters come from the same schemas the handlers decode with. It is
 * built once per app, never per request.
 */
import {
  BatchResult,
  ChatReply,
  ChatTurnParams,
  Conversation,
  ConversationPage,
  CreateWebhookParams,
  DeliveryList,
  EventPage,
  MessagePage,
  PatchSettingsParams,
  RenameConversationParams,
  ReplaceSettingsParams,
  Task,
  TaskPage,
  UserSettings,
  Webhook,
  WebhookList,
  WebhookWithSecret
} from "@taskport/core"
import { JsonSchema, Schema, type SchemaAST, SchemaRepresentation } from "effect"
import { AUTH_ME_PATH, Identity } from "./AuthRoutes.ts"
import { DocsAssetPath } from "./Docs.ts"
import { eventRoutes } from "./EventRoutes.ts"
import {
  BatchBody,
  type ChatRoute,
  CompleteTaskBody,
  CreateTaskBody,
  chatRoutes,
  isConditional,
  isWrite,
  PatchTaskBody,
  PREFIX_USER,
  PREFIX_V1,
  ReplaceTaskBody,
  type TaskRoute,
  taskRoutes,
  UserPath
} from "./Routes.ts"
import { settingsRoutes } from "./SettingsRoutes.ts"
import { PatchWebhookBody, webhookRoutes } from "./WebhookRoutes.ts"

export const ErrorResponse = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String.annotate({ description: "A stable, machine-readable error code such as not_found." }),
    message: Schema.String.annotate({ description: "A human-readable explanation." }),
    details: Schema.optionalKey(
      Schema.Unknown.annotate({
        description: "Extra facts, e.g. { issues: [{ field, message }] } for invalid input."
      })
    ),
    request_id: Schema.optionalKey(Schema.String.annotate({ description: "Quote it when reporting a 500." }))
  })
}).annotate({ identifier: "ErrorResponse", description: "The shape of every error response." })

type JsonObject = Record<string, unknown>

const componentSchemas = [
  Task,
  TaskPage,
  CreateTaskBody,
  PatchTaskBody,
  ReplaceTaskBody,
  CompleteTaskBody,
  BatchBody,
  BatchResult,
  ErrorResponse,
  ChatTurnParams,
  ChatReply,
  ConversationPage,
  MessagePage,
  Conversation,
  RenameConversationParams,
  Identity,
  UserSettings,
  ReplaceSettingsParams,
  PatchSettingsParams,
  Webhook,
  WebhookWithSecret,
  WebhookList,
  DeliveryList,
  CreateWebhookParams,
  PatchWebhookBody,
  EventPage
]

const errorResponse = (description: string, headers?: JsonObject): JsonObject => ({
  description,
  ...(headers === undefined ? {} : { headers }),
  content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } } }
})

const retryAfter = {
  "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer" } }
}

const ERRORS: Record<string, JsonObject> = {
  "400": errorResponse(
    "Invalid input; details.issues names each field and rule (code invalid_request or invalid_json)."
  ),
  "401": errorResponse("Missing or invalid bearer token (code unauthenticated).", {
    "WWW-Authenticate": { description: "Bearer challenge.", schema: { type: "string" } }
  }),
  "403": errorResponse(
    "The path names another user than the token's (code forbidden), or the write would pass a quota (code quota_exceeded; details name the quota and its limit)."
  ),
  "404": errorResponse("No such task for this user (code not_found)."),
  "409": errorResponse(
    "expected_version is stale (code version_conflict), or a request with this Idempotency-Key is still running (code idempotency_key_in_flight, with Retry-After); nothing was written."
  ),
  "412": errorResponse("If-Match names a stale version (code precondition_failed); nothing was written."),
  "422": errorResponse(
    "The Idempotency-Key was already used for a different request (code idempotency_key_reused); nothing was written."
  ),
  "413": errorResponse("The body is larger than 1 MiB (code payload_too_large)."),
  "415": errorResponse("The body is not JSON (code unsupported_media_type)."),
  "429": errorResponse(
    "Over a rate limit (code rate_limited), or, for chat, the day's token budget is spent (code token_budget_exceeded).",
    {
      ...retryAfter,
      RateLimit: {
        description: "The limit's remaining requests and reset, IETF draft form.",
        schema: { type: "string" }
      },
      "RateLimit-Policy": {
        description: "The limit and its window, IETF draft form.",
        schema: { type: "string" }
      }
    }
  ),
  "500": errorResponse("Unexpected failure; only a request id is given (code internal_error)."),
  "503": errorResponse("The database is unavailable (code service_unavailable).", retryAfter)
}

const CHAT_ERRORS: Record<string, JsonObject> = {
  ...ERRORS,
  "404": errorResponse("No such conversation for this user (code not_found)."),
  "503": errorResponse(
    "The AI model is unavailable (code model_unavailable; the user's message was saved, so the turn can be retried) or the database is (code service_unavailable). Retry-After is given when known.",
    retryAfter
  )
}

/** Where the webhook routes' answers differ from a task's. */
const WEBHOOK_ERRORS: Record<string, JsonObject> = {
  "404": errorResponse("No such webhook for this user (code not_found).")
}

const chatErrorsFor = (route: ChatRoute, byPathUser: boolean): JsonObject => {
  const codes = ["400", "401", "429", "500", "503"]
  if (byPathUser || route.kind === "chat") codes.push("403")
  if (route.kind !== "list_conversations") codes.push("404")
  if (route.body !== undefined) codes.push("413", "415")
  return Object.fromEntries(codes.sort().map((code) => [code, CHAT_ERRORS[code]]))
}

const SSE_DESCRIPTION = [
  "Sent instead of JSON when the request has Accept: text/event-stream. Events, in order:",
  "`tool_call` ({ id, name, arguments }) when the agent calls a tool, `tool_result` (a ToolCall) when it answered,",
  "`delta` ({ text }) for each piece of the answer, then `done` with the same payload as the JSON response.",
  "A failure after the stream started ends it with an `error` event ({ error: { code, message } })."
].join(" ")

const EVENT_STREAM_DESCRIPTION = [
  "Server-sent events of the user's task changes as they commit, through any server instance.",
  "Each event: `id` (its position: send it back as Last-Event-ID to resume), `event` (its type, e.g. task.updated) and `data` (a TaskEvent as JSON).",
  "On connect the stream replays the events after Last-Event-ID (or last_event_id), then goes live, with nothing missed or repeated;",
  "without either it starts from now. Comments: `: ready` once subscribed, `: heartbeat` when idle.",
  "A slow reader is served from the stored events at its own pace; nothing is dropped."
].join(" ")

const errorsFor = (route: TaskRoute, byPathUser: boolean): JsonObject => {
  const codes = ["400", "401", "429", "500", "503"]
  if (byPathUser || route.kind === "create") codes.push("403")
  if (route.path.includes("{id}")) codes.push("404")
  // 409: a stale expected_version in a body, or a keyed request whose first is still running.
  if (isWrite(route.kind)) codes.push("409", "422")
  if (isConditional(route.kind)) codes.push("412")
  if (route.body !== undefined) codes.push("413", "415")
  return Object.fromEntries(codes.sort().map((code) => [code, ERRORS[code]]))
}

/** Builds the OpenAPI 3.1 document. */
export const makeOpenApi = (): JsonObject => {
  const multi = JsonSchema.toMultiDocumentOpenApi3_1(
    SchemaRepresentation.toJsonSchemaMultiDocument(
      SchemaRepresentation.toRepresentations(
        componentSchemas.map((schema) => Schema.toCodecJson(schema).ast) as [
          SchemaAST.AST,
          ...Array<SchemaAST.AST>
        ]
      )
    )
  )
  const refOf = (schema: Schema.Top): JsonObject => {
    const index = componentSchemas.indexOf(schema as (typeof componentSchemas)[number])
    return multi.schemas[index] as JsonObject
  }
  /** Path, query or header parameters from a struct schema, with its limits and descriptions. */
  const parametersOf = (schema: Schema.Top, location: "path" | "query" | "header"): Array<JsonObject> => {
    const document = Schema.toJsonSchemaDocument(Schema.toCodecJson(schema))
    const root = document.schema as { properties?: Record<string, JsonObject>; required?: Array<string> }
    return Object.entries(root.properties ?? {}).map(([name, property]) => {
      // Optional fields render as `T | null` for JSON bodies; a query string or header has no null.
      const anyOf = property.anyOf as Array<JsonObject> | undefined
      const nonNull = anyOf?.filter((member) => member.type !== "null")
      const propertySchema = nonNull?.length === 1 ? nonNull[0]! : property
      const { description, ...rest } = propertySchema
      return {
        name,
        in: location,
        // A path parameter is always required (OpenAPI 3.1, 4.8.12.1).
        required: location === "path" || (root.required?.includes(name) ?? false),
        ...(typeof description === "string" ? { description } : {}),
        schema: rest
      }
    })
  }
  const routeParameters = (
    route: { readonly params?: Schema.Top; readonly query?: Schema.Top; readonly headers?: Schema.Top },
    byPathUser: boolean
  ): Array<JsonObject> => [
    ...(byPathUser ? parametersOf(UserPath, "path") : []),
    ...(route.params === undefined ? [] : parametersOf(route.params, "path")),
    ...(route.query === undefined ? [] : parametersOf(route.query, "query")),
    ...(route.headers === undefined ? [] : parametersOf(route.headers, "header"))
  ]

  /** The operation of a route under `prefix`, with the responses it gives. */
  const prefixedOperation = (
    route: Parameters<typeof routeParameters>[0] & {
      readonly operationId: string
      readonly summary: string
      readonly body?: Schema.Top | undefined
      readonly bodyRequired?: boolean | undefined
    },
    prefix: string,
    tag: string,
    responses: JsonObject
  ): JsonObject => {
    const byPathUser = prefix === PREFIX_USER
    return {
      operationId: byPathUser ? `${route.operationId}_by_path_user` : route.operationId,
      summary: route.summary,
      tags: [tag],
      security: [{ bearerAuth: [] }],
      parameters: routeParameters(route, byPathUser),
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              required: route.bodyRequired ?? false,
              content: { "application/json": { schema: refOf(route.body) } }
            }
          }),
      responses
    }
  }

  const paths: Record<string, Record<string, JsonObject>> = {}
  const add = (path: string, method: string, operation: JsonObject) => {
    paths[path] ??= {}
    paths[path][method.toLowerCase()] = operation
  }

  for (const route of taskRoutes) {
    for (const prefix of [PREFIX_V1, PREFIX_USER]) {
      const byPathUser = prefix === PREFIX_USER
      const success: JsonObject =
        route.status === 204
          ? { description: "Deleted." }
          : {
              description: "Success.",
              ...(route.response === Task
                ? {
                    headers: { ETag: { description: "The task's version tag.", schema: { type: "string" } } }
                  }
                : {}),
              content: { "application/json": { schema: refOf(route.response ?? Task) } }
            }
      const responses: JsonObject = { [String(route.status)]: success, ...errorsFor(route, byPathUser) }
      if (route.kind === "read") responses["304"] = { description: "Not modified." }
      add(`${prefix}${route.path}`, route.method, prefixedOperation(route, prefix, "tasks", responses))
    }
  }

  for (const route of chatRoutes) {
    for (const prefix of [PREFIX_V1, PREFIX_USER]) {
      const byPathUser = prefix === PREFIX_USER
      const parameters = routeParameters(route, byPathUser)
      const content: JsonObject =
        route.response === undefined ? {} : { "application/json": { schema: refOf(route.response) } }
      if (route.kind === "chat") {
        content["text/event-stream"] = { schema: { type: "string", description: SSE_DESCRIPTION } }
      }
      const success: JsonObject =
        route.status === 204 ? { description: "Deleted." } : { description: "Success.", content }
      add(`${prefix}${route.path}`, route.method, {
        operationId: byPathUser ? `${route.operationId}_by_path_user` : route.operationId,
        summary: route.summary,
        tags: ["chat"],
        security: [{ bearerAuth: [] }],
        ...(parameters.length === 0 ? {} : { parameters }),
        ...(route.body === undefined
          ? {}
          : {
              requestBody: {
                required: route.bodyRequired ?? false,
                content: { "application/json": { schema: refOf(route.body) } }
              }
            }),
        responses: { [String(route.status)]: success, ...chatErrorsFor(route, byPathUser) }
      })
    }
  }

  for (const route of eventRoutes) {
    for (const prefix of [PREFIX_V1, PREFIX_USER]) {
      const byPathUser = prefix === PREFIX_USER
      const codes = ["400", "401", "429", "500", "503", ...(byPathUser ? ["403"] : [])]
      if (route.kind === "task_events") codes.push("404")
      const content: JsonObject =
        route.kind === "events_stream"
          ? { "text/event-stream": { schema: { type: "string", description: EVENT_STREAM_DESCRIPTION } } }
          : { "application/json": { schema: refOf(route.response ?? EventPage) } }
      add(`${prefix}${route.path}`, route.method, {
        operationId: byPathUser ? `${route.operationId}_by_path_user` : route.operationId,
        summary: route.summary,
        tags: ["events"],
        security: [{ bearerAuth: [] }],
        parameters: routeParameters(route, byPathUser),
        responses: {
          "200": { description: "Success.", content },
          ...Object.fromEntries(codes.sort().map((code) => [code, ERRORS[code]]))
        }
      })
    }
  }

  add(AUTH_ME_PATH, "GET", {
    operationId: "auth_me",
    summary: "Who the bearer token is for: its user id, name and email claims when present, and expiry",
    tags: ["auth"],
    security: [{ bearerAuth: [] }],
    responses: {
      "200": { description: "Success.", content: { "application/json": { schema: refOf(Identity) } } },
      "401": ERRORS["401"],
      "500": ERRORS["500"]
    }
  })
  for (const route of settingsRoutes) {
    for (const prefix of [PREFIX_V1, PREFIX_USER]) {
      const byPathUser = prefix === PREFIX_USER
      const codes = ["400", "401", "500", "503", ...(byPathUser ? ["403"] : [])]
      if (route.body !== undefined) codes.push("413", "415")
      add(
        `${prefix}${route.path}`,
        route.method,
        prefixedOperation(route, prefix, "settings", {
          "200": {
            description: "Success.",
            content: { "application/json": { schema: refOf(route.response ?? UserSettings) } }
          },
          ...Object.fromEntries(codes.sort().map((code) => [code, ERRORS[code]]))
        })
      )
    }
  }

  for (const route of webhookRoutes) {
    for (const prefix of [PREFIX_V1, PREFIX_USER]) {
      const byPathUser = prefix === PREFIX_USER
      const codes = [
        "400",
        "401",
        "429",
        "500",
        "503",
        ...(byPathUser || route.kind === "create" ? ["403"] : [])
      ]
      if (route.path.includes("{id}")) codes.push("404")
      if (route.body !== undefined) codes.push("413", "415")
      const success: JsonObject =
        route.status === 204
          ? { description: "Deleted." }
          : {
              description: "Success.",
              content: { "application/json": { schema: refOf(route.response ?? Webhook) } }
            }
      add(
        `${prefix}${route.path}`,
        route.method,
        prefixedOperation(route, prefix, "webhooks", {
          [String(route.status)]: success,
          ...Object.fromEntries(codes.sort().map((code) => [code, WEBHOOK_ERRORS[code] ?? ERRORS[code]]))
        })
      )
    }
  }

  add("/api/v1/openapi.json", "GET", {
    operationId: "openapi",
    summary: "This document",
    tags: ["meta"],
    responses: { "200": { description: "The OpenAPI 3.1 document.", content: { "application/json": {} } } }
  })
  add("/docs", "GET", {
    operationId: "docs",
    summary: "Interactive documentation rendering this document",
    tags: ["meta"],
    responses: { "200": { description: "An HTML page.", content: { "text/html": {} } } }
  })
  add("/docs/assets/{file}", "GET", {
    operationId: "docs_asset",
    summary: "Static files of the documentation page",
    tags: ["meta"],
    parameters: parametersOf(DocsAssetPath, "path"),
    responses: { "200": { description: "The file." }, "404": errorResponse("No such file.") }
  })
  add("/health", "GET", {
    operationId: "health",
    summary: "Liveness: the process is up",
    tags: ["meta"],
    responses: { "200": { description: "Up.", content: { "application/json": {} } } }
  })
  add("/ready", "GET", {
    operationId: "ready",
    summary: "Readiness: the database answers",
    tags: ["meta"],
    responses: {
      "200": { description: "Ready.", content: { "application/json": {} } },
      "503": errorResponse("The database is not answering.", retryAfter)
    }
  })

  return {
    openapi: "3.1.0",
    info: {
      title: "Taskport API",
      version: "1.0.0",
      description:
        "Tasks for people and agents. Every operation acts for the user named by the bearer token's sub claim."
    },
    servers: [{ url: "/" }],
    tags: [
      { name: "tasks", description: "The todo_* operations." },
      {
        name: "chat",
        description:
          "A stateless agent that manages tasks through the same todo_* operations, and the stored conversations."
      },
      {
        name: "webhooks",
        description:
          "Endpoints that receive the user's task events, signed per Standard Webhooks, and their deliveries."
      },
      { name: "events", description: "The history of task changes, and a live stream of them." },
      { name: "meta", description: "Documentation and health." }
    ],
    paths,
    components: {
      schemas: multi.definitions,
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } }
    }
  }
}
