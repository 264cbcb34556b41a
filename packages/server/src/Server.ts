/**
 * The composition root: picks the database (Postgres when DATABASE_URL is set, embedded
 * PGlite in the data directory otherwise) and the authenticator (Better Auth settings, or an
 * explicit dev mode with a local secret), builds the layers once, and serves the REST app
 * until SIGTERM/SIGINT, then drains in-flight requests and closes the database.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as V8 from "node:v8"
import * as OfflineAgentRunner from "@taskport/agent/OfflineAgentRunner"
import { type AuthConfigError, JoseAuthenticator, TokenMinter } from "@taskport/auth"
import {
  type AgentRunner,
  Authenticator,
  ChatService,
  type TodoToolHandlers,
  TodoToolsLayer,
  UserId
} from "@taskport/core"
import type { McpHttpHandler } from "@taskport/mcp/McpHttp"
import * as ProtectedResource from "@taskport/mcp/ProtectedResource"
import { migrate, PgDatabase, PgliteClient } from "@taskport/postgres"
import { RestApp } from "@taskport/rest"
import { Cause, Data, Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { type H3, type H3Event, serve as listen } from "h3"
import * as Logging from "./Logging.ts"
import type { ServerConfig } from "./ServerConfig.ts"

/** Human-facing start-up messages; they go to stderr so stdout stays clean. */
export type Announce = (line: string) => void
const stderrAnnounce: Announce = (line) => process.stderr.write(`${line}\n`)

const DEV_SECRET_FILE = "dev-secret"

/** Dev mode: no Better Auth configuration at all. */
export const isDevMode = (config: ServerConfig) =>
  Option.isNone(config.authSecret) && Option.isNone(config.jwksUrl)

/** The dev secret kept in the data directory, created on first use (readable by the owner only). */
export const devSecret = (dataDir: string): Redacted.Redacted<string> => {
  const file = Path.join(dataDir, DEV_SECRET_FILE)
  if (!Fs.existsSync(file)) {
    Fs.mkdirSync(dataDir, { recursive: true })
    Fs.writeFileSync(file, Crypto.randomBytes(48).toString("base64url"), { mode: 0o600, flag: "wx" })
  }
  return Redacted.make(Fs.readFileSync(file, "utf8").trim())
}

/** The secret tokens are minted and verified with: configured, or the dev secret. */
export const signingSecret = (config: ServerConfig): Option.Option<Redacted.Redacted<string>> =>
  isDevMode(config)
    ? Option.some(devSecret(config.dataDir))
    : Option.map(config.authSecret, (secret) => Redacted.make(Redacted.value(secret) as string))

const describeDatabase = (url: Redacted.Redacted): string => {
  try {
    const parsed = new URL(Redacted.value(url) as string)
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}${parsed.pathname}`
  } catch {
    return "the configured server"
  }
}

/**
 * Tunes V8 for the embedded database, a development and single-user store, where memory
 * matters more than peak throughput. Two settings, measured with `npm run bench`:
 * - Baseline code only for PGlite's WebAssembly (9 MB of PostgreSQL): under load V8 re-compiled
 *   hot functions with its optimising compiler, which took the process from about 250 MB to
 *   over 800 MB and never gave it all back, for no measurable gain in requests per second.
 *   On the command line `--liftoff-only` implies the other two; set at run time it does not.
 * - Memory saver mode: V8 otherwise lets the heap grow to several times the live data under
 *   load (60 MB live, 260 MB committed). It costs about a fifth of the embedded server's
 *   requests per second, which stay far above what one user sends.
 * Both must be set before PGlite compiles its module. A server on Postgres keeps V8's defaults.
 */
export const tuneForEmbedded = () => {
  V8.setFlagsFromString("--liftoff-only --no-wasm-tier-up --no-wasm-dynamic-tiering")
  // Memory saver mode came with V8 13 (Node 24); older V8s print an error for the unknown flag.
  if (Number(process.versions.v8.split(".")[0]) >= 13) V8.setFlagsFromString("--memory-saver-mode")
}

/** The database layer for the configuration, announcing which one is used. */
export const databaseLayer = (config: ServerConfig, announce: Announce = stderrAnnounce) =>
  Option.match(config.databaseUrl, {
    onSome: (url) => {
      announce(`Database: Postgres at ${describeDatabase(url)}`)
      return PgDatabase.layer({ url, maxConnections: config.databasePoolSize })
    },
    onNone: () => {
      const dataDir = Path.resolve(config.dataDir)
      tuneForEmbedded()
      announce(
        PgliteClient.isInitialised(dataDir)
          ? `Database: embedded PGlite in ${dataDir}`
          : `Database: initialising embedded PGlite in ${dataDir} (first start, a few seconds)...`
      )
      return PgDatabase.layerPglite({ dataDir })
    }
  })

export const authenticatorLayer = (config: ServerConfig): Layer.Layer<Authenticator, AuthConfigError> =>
  JoseAuthenticator.layer({
    secret: Option.getOrUndefined(signingSecret(config)),
    jwksUrl: Option.getOrUndefined(config.jwksUrl),
    issuer: Option.getOrUndefined(config.issuer),
    audience: Option.getOrUndefined(config.audience)
  })

/**
 * The agent behind the chat: an OpenAI-compatible model when a key or a base URL is set
 * (local servers such as Ollama need no key), else the offline command interpreter. The
 * `openai` client is loaded only in the first case: it adds a quarter of a second and some
 * 30 MB to a start that does not use it.
 */
export const agentLayer = (
  config: ServerConfig,
  announce: Announce = stderrAnnounce
): Layer.Layer<AgentRunner> => {
  if (Option.isNone(config.openAiApiKey) && Option.isNone(config.openAiBaseUrl)) {
    announce("Chat: offline command interpreter (set OPENAI_API_KEY to use a model)")
    return OfflineAgentRunner.layer
  }
  const model = Option.getOrUndefined(config.openAiModel)
  return Layer.unwrap(
    Effect.map(
      Effect.promise(() => import("@taskport/agent/OpenAiAgentRunner")),
      (OpenAiAgentRunner) => {
        announce(
          `Chat: model ${model ?? OpenAiAgentRunner.DEFAULT_MODEL}${Option.match(config.openAiBaseUrl, { onNone: () => "", onSome: (url) => ` at ${url}` })}`
        )
        return OpenAiAgentRunner.layer({
          apiKey: Option.getOrElse(config.openAiApiKey, () =>
            Redacted.make("not-needed")
          ) as Redacted.Redacted<string>,
          model,
          baseURL: Option.getOrUndefined(config.openAiBaseUrl),
          api: config.openAiApi,
          timeoutMs: config.openAiTimeoutMs,
          maxSteps: config.openAiMaxSteps,
          maxRetries: config.openAiMaxRetries
        })
      }
    )
  )
}

/** Everything the surfaces need, built once per process. */
export const appLayer = (config: ServerConfig, announce: Announce = stderrAnnounce) => {
  const database = databaseLayer(config, announce)
  const todos = TodoToolsLayer.pipe(Layer.provideMerge(database))
  return Layer.mergeAll(
    authenticatorLayer(config),
    ChatService.layer({ historyLimit: config.chatHistoryLimit }).pipe(
      Layer.provideMerge(Layer.merge(todos, agentLayer(config, announce)))
    )
  )
}

/**
 * Mounts the MCP endpoint and its protected-resource metadata on the app. The MCP SDK (and
 * zod) is loaded with the first MCP request rather than at start: a server used only over
 * REST never pays for it, some 10 MB and a twentieth of a second. Discovery needs no SDK.
 */
export const mountMcp = (app: H3, config: ServerConfig, log: (entry: Logging.LogEntry) => void) =>
  Effect.gen(function* () {
    const options = {
      resourceUrl: Option.getOrUndefined(Option.map(config.publicUrl, (base) => new URL("/mcp", base))),
      authorizationServers: Option.toArray(
        Option.map(config.betterAuthUrl, (url) => url.href.replace(/\/$/, ""))
      ),
      allowedOrigins: config.corsOrigins,
      readOnly: config.mcpReadOnly,
      onDefect: (cause: Cause.Cause<unknown>) =>
        log({ level: "error", msg: "unexpected MCP failure", cause: Cause.pretty(cause) })
    }
    const resource = ProtectedResource.make(options)
    const services = yield* Effect.context<Authenticator | TodoToolHandlers>()
    let endpoint: Promise<McpHttpHandler> | undefined
    const mcp = () =>
      (endpoint ??= import("@taskport/mcp/McpHttp").then((McpHttp) =>
        Effect.runPromise(McpHttp.make(options).pipe(Effect.provideContext(services)))
      ))
    const timed =
      (route: string, serve: (request: Request) => Promise<Response> | Response) =>
      async (event: H3Event) => {
        const started = performance.now()
        const response = await serve(event.req)
        log({
          level: "info",
          msg: "request",
          method: event.req.method,
          route,
          status: response.status,
          duration_ms: Math.round((performance.now() - started) * 100) / 100
        })
        return response
      }
    app.all(
      "/mcp",
      timed("/mcp", async (request) => (await mcp()).fetch(request))
    )
    app.get(resource.metadataPath, timed(resource.metadataPath, resource.metadata))
    app.get(
      "/.well-known/oauth-protected-resource",
      timed("/.well-known/oauth-protected-resource", resource.metadata)
    )
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        if (endpoint !== undefined) await (await endpoint).close()
      })
    )
  })

const SHUTDOWN_GRACE = "10 seconds"

const waitForSignal = Effect.callback<string>((resume) => {
  const handler = (signal: string) => resume(Effect.succeed(signal))
  process.once("SIGTERM", handler)
  process.once("SIGINT", handler)
  return Effect.sync(() => {
    process.off("SIGTERM", handler)
    process.off("SIGINT", handler)
  })
})

/** Runs `taskport serve` until a termination signal, then shuts down gracefully. */
export const serve = (config: ServerConfig, announce: Announce = stderrAnnounce) =>
  serveUntil(config, announce, () => waitForSignal, true)

/**
 * Serves in process on a free local port, for as long as `use` runs (the in-process
 * `taskport chat`), then shuts down like a signal would.
 */
export const serveWhile = <A>(
  config: ServerConfig,
  use: (base: string) => Promise<A>,
  announce: Announce = stderrAnnounce
) =>
  Effect.gen(function* () {
    let result: A | undefined
    // The terminal is the conversation: request log lines would interleave with it.
    const quiet = config.logLevel === "debug" || config.logLevel === "info" ? "warn" : config.logLevel
    yield* serveUntil(
      { ...config, port: 0, host: "127.0.0.1", logLevel: quiet },
      announce,
      (base) =>
        Effect.promise(async () => {
          result = await use(base)
          return "the end of the session"
        }),
      false
    )
    return result as A
  })

const serveUntil = (
  config: ServerConfig,
  announce: Announce,
  until: (base: string) => Effect.Effect<string>,
  verbose: boolean
) =>
  Effect.gen(function* () {
    const log = Logging.makeLog(config.logLevel)
    const sql = yield* SqlClient.SqlClient
    const app = yield* RestApp.make({ corsOrigins: config.corsOrigins, ready: sql`SELECT 1`, log })
    // While draining, every answer closes its connection, so keep-alive clients move on
    // instead of holding the server open with new requests.
    let draining = false
    app.use((event) => {
      if (draining) event.res.headers.set("connection", "close")
    })
    yield* mountMcp(app, config, log)
    const server = listen(app, {
      port: config.port,
      hostname: config.host,
      silent: true,
      // Signals are handled below, so that the database closes only after the server drained.
      gracefulShutdown: false,
      node: {
        // A client that stalls mid-request is cut off; it never holds a database connection,
        // since bodies are read completely before any query runs.
        requestTimeout: config.requestTimeoutMs,
        headersTimeout: Math.min(config.requestTimeoutMs, 10_000),
        // Node checks those timeouts on this period (30 s by default, far longer than they are).
        connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs)
      }
    })
    yield* Effect.promise(() => server.ready())
    const base = (server.url ?? `http://${config.host}:${config.port}/`).replace(/\/$/, "")
    if (verbose) announce(`Taskport is listening on ${base} (docs at ${base}/docs)`)
    if (verbose && isDevMode(config)) {
      const secret = Option.getOrThrow(signingSecret(config))
      const token = yield* Effect.promise(() =>
        TokenMinter.mintToken({ secret, subject: "demo", ttlSeconds: 86_400 })
      )
      announce(
        [
          "Dev mode: no BETTER_AUTH_SECRET or BETTER_AUTH_JWKS_URL is set, so tokens are signed with a",
          `local secret kept in ${Path.resolve(config.dataDir, DEV_SECRET_FILE)}. Not for production.`,
          `Token for user "demo" (valid 24 h): ${token}`,
          `Try: curl -H "Authorization: Bearer ${token}" ${base}/api/v1/tasks`
        ].join("\n")
      )
    }
    const signal = yield* until(base)
    if (verbose) announce(`Received ${signal}: finishing in-flight requests...`)
    draining = true
    // Stop accepting, let requests in flight complete, then the layer scope closes the database.
    // Requests in flight complete; one that is still running after the grace period is cut.
    yield* Effect.promise(() => server.close()).pipe(
      Effect.timeoutOrElse({
        duration: SHUTDOWN_GRACE,
        orElse: () => Effect.promise(() => server.close(true))
      })
    )
    if (verbose) announce("Stopped.")
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(appLayer(config, announce), Logging.layer(config.logLevel)))
  )

/**
 * Runs `taskport mcp`: the MCP server on stdin/stdout for the user of TASKPORT_TOKEN, or, in
 * dev mode only, for the user named with --user. Returns when the client closes the input.
 */
export const serveStdio = (
  config: ServerConfig,
  devUser: string | undefined,
  announce: Announce = stderrAnnounce
) =>
  Effect.gen(function* () {
    const authenticator = yield* Authenticator
    const user = yield* Option.match(config.taskportToken, {
      onSome: (token) => authenticator.authenticate(`Bearer ${Redacted.value(token)}`),
      onNone: () => {
        if (devUser !== undefined && isDevMode(config)) return Effect.succeed(UserId.make(devUser))
        return Effect.fail(
          new StdioIdentityMissing({
            message: isDevMode(config)
              ? "taskport mcp needs TASKPORT_TOKEN, or --user <id> in dev mode"
              : "taskport mcp needs TASKPORT_TOKEN (a bearer token for the user to act as)"
          })
        )
      }
    })
    const McpStdio = yield* Effect.promise(() => import("@taskport/mcp/McpStdio"))
    const handle = yield* McpStdio.serve(user, {
      readOnly: config.mcpReadOnly,
      onDefect: (cause) =>
        Logging.makeLog(config.logLevel)({
          level: "error",
          msg: "unexpected MCP failure",
          cause: Cause.pretty(cause)
        })
    })
    announce(`Taskport MCP server on stdio for user ${user}`)
    yield* Effect.callback<void>((resume) => {
      const done = () => resume(Effect.void)
      process.stdin.once("end", done)
      process.stdin.once("close", done)
      process.once("SIGTERM", done)
      process.once("SIGINT", done)
    })
    yield* Effect.promise(() => handle.close())
  }).pipe(Effect.provide(Layer.mergeAll(appLayer(config, announce), Logging.layer(config.logLevel))))

export class StdioIdentityMissing extends Data.TaggedError("StdioIdentityMissing")<{
  readonly message: string
}> {}

/** Runs `taskport migrate`: applies pending migrations and reports them. */
export const runMigrations = (config: ServerConfig, announce: Announce = stderrAnnounce) =>
  Effect.gen(function* () {
    const applied = yield* migrate
    announce(
      applied.length === 0
        ? "The schema is up to date."
        : applied.map(([id, name]) => `Applied ${id}_${name}`).join("\n")
    )
    return applied
  }).pipe(
    Effect.provide(
      Option.match(config.databaseUrl, {
        onSome: (url): Layer.Layer<SqlClient.SqlClient, unknown> =>
          PgDatabase.layerClient({ url, maxConnections: 1 }),
        onNone: (): Layer.Layer<SqlClient.SqlClient, unknown> => {
          announce(`Database: embedded PGlite in ${Path.resolve(config.dataDir)}`)
          tuneForEmbedded()
          return PgliteClient.layer({ dataDir: Path.resolve(config.dataDir) })
        }
      })
    ),
    Effect.provide(Logging.layer(config.logLevel))
  )
