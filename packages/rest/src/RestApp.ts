/**
 * The REST surface as an h3 app. Each request is authenticated through the core's
 * `Authenticator`, its path, query and body are decoded with the core schemas, and the
 * matching `todo_*` tool handler or chat use case runs for the verified user (a chat turn
 * can stream as server-sent events). Failures take the one JSON error shape of
 * `HttpFailure.ts`; unexpected ones are logged with the request id only.
 */
import {
  Authenticator,
  type ChatEvent,
  ChatReply,
  ChatService,
  ChatTurnParams,
  ConversationId,
  ConversationPage,
  CurrentUser,
  ListConversationsParams,
  MessagePage,
  runTodoTool,
  type TodoToolHandlers,
  TodoTools,
  type UserId
} from "@taskport/core"
import { Cause, type Context, Effect, Exit, Option, Schema, SchemaIssue, Stream } from "effect"
import { H3, type H3Event, HTTPResponse, handleCors } from "h3"
import { BodyTooLargeError, limitRequestBody } from "srvx/body-limit"
import { docsAsset, docsPage } from "./Docs.ts"
import {
  errorBody,
  type FieldIssue,
  failureResponse,
  fromChatFailure,
  fromToolFailure,
  type HttpFailure,
  httpFailure,
  invalidRequest,
  notFound
} from "./HttpFailure.ts"
import { makeOpenApi } from "./OpenApi.ts"
import {
  type ChatRoute,
  chatRoutes,
  PREFIX_USER,
  PREFIX_V1,
  ReplaceTaskBody,
  type TaskRoute,
  taskRoutes,
  toH3Path
} from "./Routes.ts"

export interface RequestLogEntry {
  readonly level: "info" | "warn" | "error"
  readonly msg: string
  readonly [key: string]: unknown
}

export interface RestOptions {
  /** Origins allowed to call the API from a browser (default `http://localhost:3000`). */
  readonly corsOrigins?: ReadonlyArray<string> | undefined
  /** Largest accepted request body in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number | undefined
  /** Answers when the database is reachable; `/ready` reports its outcome. */
  readonly ready?: Effect.Effect<unknown, unknown> | undefined
  /** Receives one structured entry per request and one per unexpected failure. */
  readonly log?: ((entry: RequestLogEntry) => void) | undefined
}

export type RestServices = Authenticator | TodoToolHandlers | ChatService

const DEFAULT_MAX_BODY = 1024 * 1024
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const REQUEST_ID = /^[\w.:-]{1,128}$/

// Answers are h3 `HTTPResponse`s rather than web `Response`s: h3 then hands srvx the body as
// one string with its length, which Node writes to the socket in one call with the headers,
// where a web `Response` is streamed in chunks and ends with a write of its own.
const json = (value: unknown, status = 200, headers: Record<string, string> = {}) =>
  new HTTPResponse(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers }
  })

const etagOf = (version: number) => `"v${version}"`

/** The versions named by an If-Match header; `"any"` for `*`. Unparseable tags match nothing. */
const parseIfMatch = (header: string): "any" | ReadonlyArray<number> => {
  if (header.trim() === "*") return "any"
  const versions: Array<number> = []
  for (const tag of header.split(",")) {
    const match = /^\s*(?:W\/)?"v(\d{1,9})"\s*$/.exec(tag)
    if (match) versions.push(Number(match[1]))
  }
  return versions
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

// Decoders are built once per schema: building one costs more than most requests do.
const decoders = new WeakMap<Schema.Top, (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>>()
const decoderOf = (schema: Schema.Top) => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownExit(schema as unknown as Schema.Codec<unknown, unknown>, {
      errors: "all",
      onExcessProperty: "error"
    })
    decoders.set(schema, decode)
  }
  return decode
}

/** Decodes with every error collected, turning a failure into a 400 that names each field. */
const decodeOrFail = <S extends Schema.Top>(schema: S, input: unknown, what: string) => {
  const exit = decoderOf(schema)(input) as Exit.Exit<S["Type"], Schema.SchemaError>
  if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
  const error = Cause.findErrorOption(exit.cause)
  const issues: Array<FieldIssue> = Option.isSome(error)
    ? formatIssues(error.value.issue).issues.map((issue) => ({
        field: (issue.path ?? [])
          .map((segment) => String(typeof segment === "object" ? segment.key : segment))
          .join("."),
        message: issue.message === "Missing key" ? "is required" : issue.message
      }))
    : []
  const summary = issues
    .map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : issue.message))
    .join("; ")
  return Effect.fail(invalidRequest(`Invalid ${what}: ${summary || "malformed"}`, issues))
}

/**
 * Whether the request came through Node's HTTP parser, which delimits a body by its
 * Content-Length: such a body is exactly as long as declared, so once the declared length is
 * within the limit it can be read directly. Reading it through a limiting web stream instead
 * (and even asking for `request.body`, which builds one) cost a tenth of a small write.
 */
const parsedByNode = (event: H3Event) => event.runtime?.node?.req !== undefined

/** Reads a JSON body with the size and media-type rules, without buffering past the limit. */
const readJsonBody = (
  request: Request,
  limit: number,
  required: boolean,
  framedByNode: boolean
): Effect.Effect<unknown, HttpFailure> =>
  Effect.gen(function* () {
    const declared = request.headers.get("content-length")
    const length = declared === null ? undefined : Number(declared)
    // Node refuses a malformed Content-Length before the app sees the request.
    const delimited = framedByNode && length !== undefined
    const hasBody = framedByNode
      ? delimited
        ? length > 0
        : request.headers.has("transfer-encoding")
      : request.body !== null && length !== 0
    if (length !== undefined && length > limit) {
      return yield* httpFailure(413, "payload_too_large", `Request bodies are limited to ${limit} bytes`)
    }
    const type = request.headers.get("content-type")
    if (!hasBody) {
      if (!required) return undefined
      if (type === null || !JSON_TYPE.test(type)) {
        return yield* httpFailure(
          415,
          "unsupported_media_type",
          "Send a JSON body with Content-Type: application/json"
        )
      }
      return yield* invalidRequest("A JSON body is required", [])
    }
    if (type === null || !JSON_TYPE.test(type)) {
      return yield* httpFailure(
        415,
        "unsupported_media_type",
        "Send a JSON body with Content-Type: application/json"
      )
    }
    const text = yield* Effect.tryPromise({
      // srvx stops reading once the limit is passed, so an oversized body is never buffered whole.
      try: () => (delimited ? request.text() : limitRequestBody(request, limit).text()),
      catch: (error) =>
        error instanceof BodyTooLargeError
          ? httpFailure(413, "payload_too_large", `Request bodies are limited to ${limit} bytes`)
          : httpFailure(400, "invalid_json", "The request body could not be read")
    })
    if (text.trim() === "") {
      if (required) return yield* invalidRequest("A JSON body is required", [])
      return undefined
    }
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => httpFailure(400, "invalid_json", "The request body is not valid JSON")
    })
  })

const unauthorized = (reason: string, description: string) => {
  const challenge =
    reason === "missing"
      ? 'Bearer realm="taskport"'
      : `Bearer realm="taskport", error="invalid_token", error_description="${description.replace(/["\\]/g, "")}"`
  return httpFailure(401, "unauthenticated", description, undefined, { "www-authenticate": challenge })
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Builds the h3 app over the services of the current context. */
export const make = (options: RestOptions = {}): Effect.Effect<H3, never, RestServices> =>
  Effect.gen(function* () {
    const context: Context.Context<RestServices> = yield* Effect.context<RestServices>()
    const authenticator = yield* Authenticator
    const runWith = Effect.runPromiseExitWith(context)
    const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY
    const log =
      options.log ??
      ((entry) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`))
    const openApi = JSON.stringify(makeOpenApi())
    const corsOptions = {
      origin: [...(options.corsOrigins ?? ["http://localhost:3000"])],
      credentials: true,
      methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-Id", "Accept"],
      exposeHeaders: ["ETag", "Location", "X-Request-Id", "Retry-After", "WWW-Authenticate"],
      maxAge: "600"
    }

    /** Runs a tool for the user; its typed failure names the fields at fault. */
    const tool = (route: TaskRoute, user: UserId, params: Record<string, unknown>) =>
      runTodoTool(route.tool, params).pipe(
        Effect.provideService(CurrentUser, { id: user }),
        Effect.mapError(fromToolFailure)
      )

    const taskResponse = (encoded: unknown, status = 200, extra: Record<string, string> = {}) => {
      const version = isObject(encoded) && typeof encoded.version === "number" ? encoded.version : 0
      return json(encoded, status, { etag: etagOf(version), ...extra })
    }

    // Path and query strings are decoded through string-tree codecs derived once, not per request.
    const taskIdPath = Schema.toCodecStringTree(
      Schema.Struct({ id: TodoTools.tools.todo_read.parametersSchema.fields.id })
    )
    const queryCodecs = new Map(
      taskRoutes.flatMap((route) =>
        route.query === undefined
          ? []
          : [
              [
                route,
                {
                  decode: Schema.toCodecStringTree(route.query),
                  encode: Schema.encodeSync(route.query as Schema.Codec<unknown, unknown>)
                }
              ] as const
            ]
      )
    )

    const taskHandler = (route: TaskRoute, prefix: string) => (event: H3Event, user: UserId) =>
      Effect.gen(function* () {
        const request = event.req
        const params: Record<string, unknown> = {}
        if (route.path.includes("{id}")) {
          const raw = event.context.params?.id ?? ""
          const id = yield* decodeOrFail(taskIdPath, { id: raw }, "path")
          params.id = id.id
        }
        const queryCodec = queryCodecs.get(route)
        if (queryCodec !== undefined) {
          const url = new URL(request.url)
          const query = yield* decodeOrFail(queryCodec.decode, Object.fromEntries(url.searchParams), "query")
          Object.assign(params, queryCodec.encode(query))
        }
        // The path names the task: a body cannot point the operation at another one.
        const pathParams = { ...params }
        if (route.body !== undefined) {
          const body = yield* readJsonBody(request, limit, route.bodyRequired ?? false, parsedByNode(event))
          if (body !== undefined && !isObject(body)) {
            return yield* invalidRequest("The request body must be a JSON object", [])
          }
          if (route.kind === "replace") {
            // The replacement schema gives every editable field it does not name its default.
            const replacement = yield* decodeOrFail(ReplaceTaskBody, body, "request")
            Object.assign(params, replacement, pathParams)
          } else {
            Object.assign(params, body, pathParams)
          }
        }

        const ifMatch = request.headers.get("if-match")
        let preconditioned = false
        if (ifMatch !== null && (route.kind === "replace" || route.kind === "patch")) {
          const versions = parseIfMatch(ifMatch)
          if (versions !== "any") {
            if (versions.length === 0) {
              return yield* httpFailure(
                412,
                "precondition_failed",
                "If-Match names no current version of this task"
              )
            }
            params.expected_version = versions[0]
            preconditioned = true
          }
        }

        const result = yield* tool(route, user, params).pipe(
          Effect.catch((failure: HttpFailure) =>
            preconditioned && failure.code === "version_conflict"
              ? Effect.fail(httpFailure(412, "precondition_failed", failure.message, failure.details))
              : Effect.fail(failure)
          )
        )
        switch (route.kind) {
          case "list":
            return json(result.encoded)
          case "create": {
            const id = "id" in result.encoded ? String(result.encoded.id) : ""
            return taskResponse(result.encoded, 201, { location: `${prefix}/tasks/${id}` })
          }
          case "read": {
            const encoded = result.encoded
            const tag = etagOf("version" in encoded ? encoded.version : 0)
            const ifNoneMatch = request.headers.get("if-none-match")
            if (
              ifNoneMatch !== null &&
              (ifNoneMatch.trim() === "*" ||
                ifNoneMatch.split(",").some((t) => t.trim().replace(/^W\//, "") === tag))
            ) {
              return new HTTPResponse(null, { status: 304, headers: { etag: tag } })
            }
            return taskResponse(encoded)
          }
          case "delete":
            return new HTTPResponse(null, { status: 204 })
          default:
            return taskResponse(result.encoded)
        }
      })

    const chat = yield* ChatService
    const conversationPath = Schema.toCodecStringTree(Schema.Struct({ id: ConversationId }))
    const listQuery = Schema.toCodecStringTree(ListConversationsParams)
    const encodeList = Schema.encodeSync(ListConversationsParams)
    const encodeReply = Schema.encodeSync(ChatReply)
    const encodeConversations = Schema.encodeSync(ConversationPage)
    const encodeMessages = Schema.encodeSync(MessagePage)
    const encoder = new TextEncoder()

    const frame = (event: string, data: unknown) =>
      encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

    const eventFrame = (event: ChatEvent): Uint8Array => {
      switch (event.type) {
        case "delta":
          return frame("delta", { text: event.text })
        case "tool_call":
          return frame("tool_call", event.call)
        case "tool_result":
          return frame("tool_result", event.call)
        case "done":
          return frame("done", encodeReply(event.reply))
      }
    }

    type Frame = { readonly bytes: Uint8Array } | { readonly failure: HttpFailure }

    /**
     * Streams a turn as server-sent events. The first event is awaited before answering, so
     * a model that fails at once still gets its proper status (503); a failure after that
     * arrives as a final `error` event, since the 200 status is already sent.
     */
    const sse = (
      events: Stream.Stream<ChatEvent, Parameters<typeof fromChatFailure>[0]>,
      requestId: string
    ) =>
      Effect.gen(function* () {
        const frames: Stream.Stream<Frame> = events.pipe(
          Stream.map((event): Frame => ({ bytes: eventFrame(event) })),
          Stream.catchCause((cause) => {
            const error = Cause.findErrorOption(cause)
            if (Option.isSome(error)) return Stream.succeed<Frame>({ failure: fromChatFailure(error.value) })
            log({
              level: "error",
              msg: "unexpected failure",
              request_id: requestId,
              route: "chat stream",
              cause: Cause.pretty(cause)
            })
            return Stream.succeed<Frame>({
              failure: httpFailure(500, "internal_error", "Internal error", { request_id: requestId })
            })
          })
        )
        const reader = Stream.toReadableStream(frames).getReader()
        const first = yield* Effect.promise(() => reader.read())
        if (!first.done && "failure" in first.value) {
          reader.releaseLock()
          return yield* Effect.fail(first.value.failure)
        }
        const toBytes = (item: Frame) =>
          "bytes" in item
            ? item.bytes
            : encoder.encode(`event: error\ndata: ${errorBody(item.failure.code, item.failure.message)}\n\n`)
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => {
            if (first.done) controller.close()
            else controller.enqueue(toBytes(first.value))
          },
          pull: async (controller) => {
            const next = await reader.read()
            if (next.done) controller.close()
            else controller.enqueue(toBytes(next.value))
          },
          cancel: (reason) => reader.cancel(reason)
        })
        return new HTTPResponse(body, {
          headers: {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "x-accel-buffering": "no"
          }
        })
      })

    const conversationIdOf = (event: H3Event) =>
      Effect.map(
        decodeOrFail(conversationPath, { id: event.context.params?.id ?? "" }, "path"),
        (decoded) => decoded.id as string
      )

    const listParamsOf = (event: H3Event) =>
      Effect.map(
        decodeOrFail(listQuery, Object.fromEntries(new URL(event.req.url).searchParams), "query"),
        encodeList
      )

    const chatHandler = (route: ChatRoute) => (event: H3Event, user: UserId, requestId: string) =>
      Effect.gen(function* () {
        switch (route.kind) {
          case "chat": {
            const body = yield* readJsonBody(event.req, limit, true, parsedByNode(event))
            if (!isObject(body)) return yield* invalidRequest("The request body must be a JSON object", [])
            yield* decodeOrFail(ChatTurnParams, body, "request")
            const params = body as ChatTurnParams
            const accept = event.req.headers.get("accept") ?? ""
            if (/\btext\/event-stream\b/i.test(accept)) {
              const events = yield* chat.turnStream(params).pipe(Effect.mapError(fromChatFailure))
              return yield* sse(events, requestId)
            }
            const reply = yield* chat.turn(params).pipe(Effect.mapError(fromChatFailure))
            return json(encodeReply(reply))
          }
          case "list_conversations": {
            const params = yield* listParamsOf(event)
            const page = yield* chat.listConversations(params).pipe(Effect.mapError(fromChatFailure))
            return json(encodeConversations(page))
          }
          case "list_messages": {
            const id = yield* conversationIdOf(event)
            const params = yield* listParamsOf(event)
            const page = yield* chat.listMessages(id, params).pipe(Effect.mapError(fromChatFailure))
            return json(encodeMessages(page))
          }
          case "delete_conversation": {
            const id = yield* conversationIdOf(event)
            yield* chat.deleteConversation(id).pipe(Effect.mapError(fromChatFailure))
            return new HTTPResponse(null, { status: 204 })
          }
        }
      }).pipe(Effect.provideService(CurrentUser, { id: user }))

    const authenticated =
      (
        pathUser: boolean,
        work: (
          event: H3Event,
          user: UserId,
          requestId: string
        ) => Effect.Effect<HTTPResponse, HttpFailure, RestServices>
      ) =>
      (event: H3Event, requestId: string) =>
        Effect.gen(function* () {
          const user = yield* authenticator
            .authenticate(event.req.headers.get("authorization"))
            .pipe(Effect.mapError((error) => unauthorized(error.reason, error.description)))
          if (pathUser && event.context.params?.user_id !== user) {
            return yield* httpFailure(403, "forbidden", "The path names another user than the token's")
          }
          return yield* work(event, user, requestId)
        })

    const app = new H3()

    /** Wraps a handler with request ids, error mapping and the request log line. */
    const serve =
      (
        route: string,
        handler: (event: H3Event, requestId: string) => Effect.Effect<HTTPResponse, HttpFailure, RestServices>
      ) =>
      async (event: H3Event): Promise<HTTPResponse> => {
        const started = performance.now()
        const given = event.req.headers.get("x-request-id")
        const requestId = given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID()
        const exit = await runWith(handler(event, requestId))
        let response: HTTPResponse
        if (Exit.isSuccess(exit)) {
          response = exit.value
        } else {
          const failure = Cause.findErrorOption(exit.cause)
          if (Option.isSome(failure) && failure.value.status !== 500) {
            response = failureResponse(failure.value)
          } else {
            // A failure on our side, a defect or a statement the database refused: the client
            // gets only the request id to quote, the operator the log line it points to.
            const known = Option.getOrUndefined(failure)
            log({
              level: "error",
              msg: known?.message ?? "unexpected failure",
              request_id: requestId,
              route,
              ...(known === undefined ? { cause: Cause.pretty(exit.cause) } : {})
            })
            response = json(
              {
                error: {
                  code: "internal_error",
                  message: known?.message ?? "Internal error",
                  request_id: requestId
                }
              },
              500
            )
          }
        }
        response.headers.set("x-request-id", requestId)
        log({
          level: "info",
          msg: "request",
          method: event.req.method,
          route,
          status: response.status,
          duration_ms: Math.round((performance.now() - started) * 100) / 100,
          request_id: requestId
        })
        return response
      }

    app.use((event) => {
      // Only browsers send Origin; answering others without CORS headers spares h3 from
      // rebuilding every response to add them.
      if (!event.req.headers.has("origin")) return
      const preflight = handleCors(event, corsOptions)
      if (preflight !== false) return preflight
    })

    const registered: Array<{ readonly pattern: RegExp; readonly method: string }> = []
    const register = (method: string, path: string, handler: (event: H3Event) => Promise<HTTPResponse>) => {
      app.on(method as "GET", toH3Path(path), handler)
      registered.push({ pattern: new RegExp(`^${toH3Path(path).replace(/:[a-z_]+/g, "[^/]+")}$`), method })
    }

    for (const route of taskRoutes) {
      for (const prefix of [PREFIX_V1, PREFIX_USER]) {
        const path = `${prefix}${route.path}`
        const byPathUser = prefix === PREFIX_USER
        register(
          route.method,
          path,
          serve(
            path,
            authenticated(byPathUser, (event, user) =>
              taskHandler(route, byPathUser ? `/api/${encodeURIComponent(user)}` : PREFIX_V1)(event, user)
            )
          )
        )
      }
    }

    for (const route of chatRoutes) {
      for (const prefix of [PREFIX_V1, PREFIX_USER]) {
        const path = `${prefix}${route.path}`
        register(route.method, path, serve(path, authenticated(prefix === PREFIX_USER, chatHandler(route))))
      }
    }

    register(
      "GET",
      "/api/v1/openapi.json",
      serve("/api/v1/openapi.json", () =>
        Effect.succeed(new HTTPResponse(openApi, { headers: { "content-type": "application/json" } }))
      )
    )
    register(
      "GET",
      "/docs",
      serve("/docs", () =>
        Effect.succeed(
          new HTTPResponse(docsPage("/api/v1/openapi.json"), {
            headers: { "content-type": "text/html; charset=utf-8" }
          })
        )
      )
    )
    register(
      "GET",
      "/docs/assets/{file}",
      serve("/docs/assets/{file}", (event) =>
        Option.match(docsAsset(event.context.params?.file ?? ""), {
          onNone: () => Effect.fail(notFound()),
          onSome: (asset) =>
            Effect.succeed(
              new HTTPResponse(asset.body, {
                headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" }
              })
            )
        })
      )
    )
    register(
      "GET",
      "/health",
      serve("/health", () => Effect.succeed(json({ status: "ok" })))
    )
    register(
      "GET",
      "/ready",
      serve("/ready", () =>
        (options.ready ?? Effect.void).pipe(
          Effect.timeout("2 seconds"),
          Effect.as(json({ status: "ready" })),
          Effect.catchCause(() =>
            Effect.succeed(
              json(
                { error: { code: "service_unavailable", message: "The database is not answering" } },
                503,
                { "retry-after": "2" }
              )
            )
          )
        )
      )
    )

    app.all(
      "/**",
      serve("unmatched", (event) => {
        const path = new URL(event.req.url).pathname
        const allowed = [...new Set(registered.filter((r) => r.pattern.test(path)).map((r) => r.method))]
        if (allowed.length === 0) return Effect.fail(notFound(`No route for ${path}`))
        return Effect.fail(
          httpFailure(405, "method_not_allowed", `Use ${allowed.join(", ")} on ${path}`, undefined, {
            allow: allowed.join(", ")
          })
        )
      })
    )

    return app
  })
