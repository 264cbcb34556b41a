/**
 * The REST surface as an h3 app: the task, chat and meta routes registered in one loop,
 * each request authenticated through the core's `Authenticator` where the route needs a
 * user, answered in the one error shape of `HttpFailure.ts`, and logged in one line by the
 * shared request log. Unexpected failures are logged with the request id, which is all the
 * client is told.
 */
import {
  Authenticator,
  actor,
  CurrentActor,
  DEFAULT_HEARTBEAT,
  type RateLimiterShape,
  type RateLimitKind,
  retryMessage,
  type UserId,
  WebhookService
} from "@taskport/core"
import { RateLimitHeaders, RequestLog } from "@taskport/http"
import { Cause, type Context, Effect, Exit, Option } from "effect"
import { getRequestIP, H3, type H3Event, HTTPResponse, handleCors } from "h3"
import { FastResponse } from "srvx"
import * as AuthRoutes from "./AuthRoutes.ts"
import * as ChatRoutes from "./ChatRoutes.ts"
import * as EventRoutes from "./EventRoutes.ts"
import {
  failureResponse,
  forbiddenUser,
  type HttpFailure,
  internalError,
  methodNotAllowed,
  notFound,
  tooManyRequests,
  unauthorized
} from "./HttpFailure.ts"
import { DEFAULT_MAX_BODY } from "./JsonBody.ts"
import * as MetaRoutes from "./MetaRoutes.ts"
import { Answer } from "./Responses.ts"
import type { RestServices, Route } from "./Route.ts"
import { toH3Path } from "./Routes.ts"
import * as SettingsRoutes from "./SettingsRoutes.ts"
import { withRequestedZone } from "./SettingsRoutes.ts"
import * as TaskRoutes from "./TaskRoutes.ts"
import * as WebhookRoutes from "./WebhookRoutes.ts"
import * as WebRoutes from "./WebRoutes.ts"

export type { RestServices } from "./Route.ts"
export type RequestLogEntry = RequestLog.LogEntry

export interface RestOptions {
  /** Origins allowed to call the API from a browser (default `http://localhost:3000`). */
  readonly corsOrigins?: ReadonlyArray<string> | undefined
  /** Largest accepted request body in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number | undefined
  /** Answers when the database is reachable; `/ready` reports its outcome. */
  readonly ready?: Effect.Effect<unknown, unknown> | undefined
  /** Receives one structured entry per request and one per unexpected failure. */
  readonly log?: RequestLog.Log | undefined
  /** Serves the web app at `/` when given. */
  readonly web?: WebRoutes.WebOptions | undefined
  /**
   * Limits requests per user (chat turns more tightly) and failed authentications per
   * address. None: nothing is limited.
   */
  readonly rateLimiter?: RateLimiterShape | undefined
  /** The event stream's heartbeat, slow-reader buffer and page size (defaults: 15 s, 100, 100). */
  readonly eventStream?: Partial<EventRoutes.StreamOptions> | undefined
}

const PATH_USER = "{user_id}"

/** The `{user_id}` segment as text: h3 hands it over still percent-encoded. */
const pathUser = (segment: string | undefined): string | undefined => {
  if (segment === undefined) return undefined
  try {
    return decodeURIComponent(segment)
  } catch {
    // Not valid percent-encoding: it names no user, so it is another user than the token's.
    return undefined
  }
}

/** Builds the h3 app over the services of the current context. */
export const make = (options: RestOptions = {}): Effect.Effect<H3, never, RestServices> =>
  Effect.gen(function* () {
    const context: Context.Context<RestServices> = yield* Effect.context<RestServices>()
    const authenticator = yield* Authenticator
    const runWith = Effect.runPromiseExitWith(context)
    const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY
    // The webhook routes are served when the webhook use cases are part of the app.
    const webhooks = yield* Effect.serviceOption(WebhookService)
    const log = options.log ?? RequestLog.stderrLog
    const corsOptions = {
      origin: [...(options.corsOrigins ?? ["http://localhost:3000"])],
      credentials: true,
      methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: [
        "Authorization",
        "Content-Type",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
        "X-Request-Id",
        "X-Time-Zone",
        "Accept"
      ],
      exposeHeaders: [
        "ETag",
        "Location",
        "X-Request-Id",
        "Retry-After",
        "WWW-Authenticate",
        "RateLimit",
        "RateLimit-Policy"
      ],
      maxAge: "600"
    }

    const logDefect = (
      scope: RequestLog.RequestScope,
      cause: Cause.Cause<unknown>,
      msg = "unexpected failure"
    ) => RequestLog.failure(log, scope, msg, Cause.pretty(cause))

    const routes: ReadonlyArray<Route> = [
      ...TaskRoutes.routes(limit),
      ...SettingsRoutes.routes(limit),
      ...Option.match(webhooks, {
        onNone: () => [],
        onSome: (service) => WebhookRoutes.routes(limit, service)
      }),
      ...EventRoutes.routes(
        {
          heartbeat: options.eventStream?.heartbeat ?? DEFAULT_HEARTBEAT,
          buffer: options.eventStream?.buffer ?? 100,
          pageSize: options.eventStream?.pageSize
        },
        (cause) =>
          log({
            level: "warn",
            msg: "an event stream ended on a failure",
            error: Cause.isCause(cause) ? Cause.pretty(cause) : String(cause)
          })
      ),
      ...(yield* ChatRoutes.routes({
        limit,
        onStreamDefect: (cause, scope) => logDefect(scope, cause, "unexpected failure in a chat stream")
      })),
      ...AuthRoutes.routes(),
      ...MetaRoutes.routes(options.ready),
      ...(options.web === undefined ? [] : WebRoutes.routes(options.web))
    ]

    const limiter = options.rateLimiter
    /** Counts one request; a refusal is a 429 saying when to retry. */
    const countAgainst = (kind: RateLimitKind, key: string) =>
      limiter === undefined
        ? Effect.undefined
        : Effect.flatMap(limiter.consume(kind, key), (decision) =>
            decision === undefined || decision.allowed
              ? Effect.succeed(decision)
              : Effect.fail(
                  tooManyRequests(retryMessage(decision), RateLimitHeaders.rateLimitHeaders(decision))
                )
          )

    /** Verifies the token and, under `/api/{user_id}`, that the path names its user. */
    const authenticate = (route: Route, event: H3Event): Effect.Effect<UserId, HttpFailure> =>
      Effect.gen(function* () {
        const user = yield* authenticator.authenticate(event.req.headers.get("authorization")).pipe(
          Effect.catch((error) =>
            // Failed attempts are counted per address: a refusal past the limit is a 429.
            Effect.andThen(
              countAgainst("auth_failure", getRequestIP(event) ?? "unknown"),
              Effect.fail(unauthorized(error.reason, error.description))
            )
          )
        )
        if (route.path.includes(PATH_USER) && pathUser(event.context.params?.user_id) !== user) {
          return yield* forbiddenUser()
        }
        return user
      })

    const handlerOf =
      (route: Route) => (event: H3Event, scope: RequestLog.RequestScope, headers: Record<string, string>) =>
        route.access === "public"
          ? route.handle(event, scope)
          : Effect.gen(function* () {
              const user = yield* authenticate(route, event)
              scope.user = user
              const decision = yield* countAgainst("request", user)
              // A chat turn can cost several model calls: it is also counted against its own limit.
              const chat =
                route.method === "POST" && route.path.endsWith("/chat")
                  ? yield* countAgainst("chat", user)
                  : undefined
              // Changes made through REST are recorded with the caller's user agent.
              const response = yield* withRequestedZone(event, route.handle(event, scope, user)).pipe(
                Effect.provideService(
                  CurrentActor,
                  actor("rest", { client: event.req.headers.get("user-agent") })
                )
              )
              const shown = chat ?? decision
              if (shown !== undefined) Object.assign(headers, RateLimitHeaders.rateLimitHeaders(shown))
              return response
            })

    /** Runs a handler, maps its failure to the one error shape and writes the request's line. */
    const serve =
      (
        routeLabel: string,
        handler: (
          event: H3Event,
          scope: RequestLog.RequestScope,
          headers: Record<string, string>
        ) => Effect.Effect<HTTPResponse, HttpFailure, RestServices>
      ) =>
      async (event: H3Event): Promise<HTTPResponse | Response> => {
        const scope = RequestLog.begin(event.req, routeLabel, event.url.pathname)
        // The app's own headers, added to every answer: the route's handler adds its limits.
        const headers: Record<string, string> = {
          // Browsers must take every answer as the type it names, never sniff a script out of it.
          "x-content-type-options": "nosniff",
          [RequestLog.REQUEST_ID_HEADER]: scope.requestId
        }
        const finish = (response: HTTPResponse): HTTPResponse | Response => {
          const status = response.status ?? 200
          RequestLog.record(log, scope, status)
          const body = event.req.method === "HEAD" ? null : (response.body ?? null)
          // A plain answer goes out with its headers still a plain object, unless CORS (which
          // h3 merges into a web response's headers only for a success) has headers to add.
          if (response instanceof Answer && !event.req.headers.has("origin")) {
            return new FastResponse(body, { status, headers: { ...response.fields, ...headers } })
          }
          for (const name in headers) response.headers.set(name, headers[name]!)
          return body === null && response.body != null
            ? new HTTPResponse(null, { status, headers: response.headers })
            : response
        }
        // Annotated, so what the layers below log (a refused statement, say) names the request.
        const exit = await runWith(
          handler(event, scope, headers).pipe(Effect.annotateLogs("request_id", scope.requestId))
        )
        if (Exit.isSuccess(exit)) return finish(exit.value)
        const known = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
        if (known !== undefined && known.status !== 500) {
          return finish(failureResponse(known))
        }
        // A failure on our side, a defect or a statement the database refused: the client
        // gets only the request id to quote, the operator the log line it points to.
        // A known failure was logged where it arose (with its SQLSTATE, say); a defect's cause is logged here.
        if (known === undefined) logDefect(scope, exit.cause)
        else RequestLog.failure(log, scope, known.message)
        return finish(failureResponse(known ?? internalError(), scope.requestId))
      }

    const app = new H3()
    app.use((event) => {
      // Only browsers send Origin; answering others without CORS headers spares h3 from
      // rebuilding every response to add them.
      if (!event.req.headers.has("origin")) return
      const preflight = handleCors(event, corsOptions)
      if (preflight !== false) return preflight
    })

    const patterns: Array<{ readonly pattern: RegExp; readonly method: string }> = []
    for (const route of routes) {
      const h3Path = toH3Path(route.path)
      const served = serve(route.path, handlerOf(route))
      const pattern = new RegExp(`^${h3Path.replace(/:[a-z_]+/g, "[^/]+")}$`)
      app.on(route.method, h3Path, served)
      patterns.push({ pattern, method: route.method })
      // HEAD is GET without the body (RFC 9110 §9.3.2); `finish` drops the body.
      if (route.method === "GET") {
        app.on("HEAD", h3Path, served)
        patterns.push({ pattern, method: "HEAD" })
      }
    }

    app.all(
      "/**",
      serve("unmatched", (event) => {
        const path = event.url.pathname
        const allowed = [
          ...new Set(patterns.filter((entry) => entry.pattern.test(path)).map((entry) => entry.method))
        ]
        return Effect.fail(
          allowed.length === 0 ? notFound(`No route for ${path}`) : methodNotAllowed(path, allowed)
        )
      })
    )

    return app
  })
