/**
 * The HTTP server of `taskport serve` (and of `taskport chat --local`): the REST app with
 * the MCP endpoint and its protected-resource metadata, on a scoped `Listener`. Closing the
 * scope drains it; the services it uses come from `AppLayer`.
 */
import type { Authenticator, RateLimiterShape, SettingsService, TodoToolHandlers } from "@taskport/core"
import { RequestLog } from "@taskport/http"
import type { McpHttpHandler } from "@taskport/mcp/McpHttp"
import * as ProtectedResource from "@taskport/mcp/ProtectedResource"
import { RestApp } from "@taskport/rest"
import * as WebApp from "@taskport/web"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { H3 } from "h3"
import * as EventPublishing from "./EventPublishing.ts"
import * as Listener from "./Listener.ts"
import * as Logging from "./Logging.ts"
import * as RateLimiting from "./RateLimiting.ts"
import * as Reminders from "./Reminders.ts"
import * as Retention from "./Retention.ts"
import type { ServerConfig } from "./ServerConfig.ts"
import * as Webhooks from "./Webhooks.ts"

/**
 * Mounts the MCP endpoint and its protected-resource metadata on the app. The MCP SDK (and
 * zod) is loaded with the first MCP request rather than at start: a server used only over
 * REST never pays for it, some 10 MB and a twentieth of a second. Discovery needs no SDK.
 */
/** Names a server bound to a loopback address answers to. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"]

const isLoopback = (host: string) =>
  LOOPBACK_NAMES.includes(host.replace(/^\[|\]$/g, "")) || host.startsWith("127.")

/**
 * The host names `/mcp` answers to: `PUBLIC_URL`'s, or the loopback names when bound to
 * loopback. A server bound to all interfaces without `PUBLIC_URL` cannot know its names,
 * so it checks none (Origin is still checked).
 */
export const servedHosts = (config: ServerConfig): ReadonlyArray<string> | undefined =>
  Option.match(config.publicUrl, {
    onSome: (url) => [url.hostname, ...(isLoopback(config.host) ? LOOPBACK_NAMES : [])],
    onNone: () => (isLoopback(config.host) ? [...LOOPBACK_NAMES, config.host] : undefined)
  })

/**
 * Mounts the MCP endpoint; `boundUrl` gives the listener's address once it is bound, which
 * names the endpoint when `PUBLIC_URL` does not (never the request's Host).
 */
export const mountMcp = (
  app: H3,
  config: ServerConfig,
  log: (entry: Logging.LogEntry) => void,
  boundUrl: () => string | undefined = () => undefined,
  rateLimiter?: RateLimiterShape
) =>
  Effect.gen(function* () {
    const publicResource = Option.map(config.publicUrl, (base) => new URL("/mcp", base))
    const options = {
      resourceUrl: Option.match(publicResource, {
        onSome: (url) => url,
        onNone: () => {
          // Asked on every MCP request: the URL is built again only when the address changes.
          let last: { readonly base: string; readonly url: URL } | undefined
          return () => {
            const base = boundUrl() ?? `http://${config.host}:${config.port}`
            if (last?.base !== base) last = { base, url: new URL("/mcp", base) }
            return last.url
          }
        }
      }),
      allowedHosts: servedHosts(config),
      rateLimiter,
      authorizationServers: Option.toArray(
        Option.map(config.betterAuthUrl, (url) => url.href.replace(/\/$/, ""))
      ),
      allowedOrigins: config.corsOrigins,
      readOnly: config.mcpReadOnly,
      log
    }
    const resource = ProtectedResource.make(options)
    const services = yield* Effect.context<Authenticator | TodoToolHandlers | SettingsService>()
    let endpoint: Promise<McpHttpHandler> | undefined
    const mcp = () =>
      (endpoint ??= import("@taskport/mcp/McpHttp").then((McpHttp) =>
        Effect.runPromise(McpHttp.make(options).pipe(Effect.provideContext(services)))
      ))
    // The endpoint writes its own request lines, with the request id and the user.
    app.all("/mcp", async (event) => (await mcp()).fetch(event.req))
    for (const path of [resource.metadataPath, "/.well-known/oauth-protected-resource"]) {
      const metadata = RequestLog.logged(log, path, resource.metadata)
      app.get(path, (event) => metadata(event.req))
    }
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        if (endpoint !== undefined) await (await endpoint).close()
      })
    )
  })

/**
 * Serves the REST app and `/mcp` for as long as the enclosing scope is open, with the
 * background work: sweeping expired trash and keys, webhook deliveries, NATS publishing and
 * reminders.
 */
export const serve = (config: ServerConfig) =>
  Effect.gen(function* () {
    const log = Logging.makeLog(config.logLevel)
    const sql = yield* SqlClient.SqlClient
    const web = {
      files: WebApp.load(),
      connectOrigins: Option.toArray(Option.map(config.betterAuthUrl, (url) => url.origin))
    }
    const rateLimiter = yield* RateLimiting.make(
      {
        requestsPerMinute: config.rateLimitPerMinute,
        chatTurnsPerMinute: config.chatRateLimitPerMinute,
        authFailuresPerMinute: config.authFailureRateLimitPerMinute,
        redisUrl: Option.getOrUndefined(config.redisUrl),
        keyPrefix: config.redisKeyPrefix
      },
      log
    )
    const app = yield* RestApp.make({
      corsOrigins: config.corsOrigins,
      ready: sql`SELECT 1`,
      log,
      web,
      rateLimiter,
      eventStream: { heartbeat: config.eventStreamHeartbeatMs, buffer: config.eventStreamBuffer }
    })
    let bound: string | undefined
    yield* mountMcp(app, config, log, () => bound, rateLimiter)
    yield* Retention.sweeping
    yield* Webhooks.dispatching(config)
    yield* EventPublishing.publishing(config)
    yield* Reminders.reminding(config)
    const listener = yield* Listener.make(app, {
      port: config.port,
      host: config.host,
      requestTimeoutMs: config.requestTimeoutMs
    })
    bound = listener.url
    return listener
  })
