/**
 * The composition root: picks the database (Postgres when DATABASE_URL is set, embedded
 * PGlite in the data directory otherwise) and the authenticator (Better Auth settings, or an
 * explicit dev mode with a local secret), builds the layers once, and serves the REST app
 * until SIGTERM/SIGINT, then drains in-flight requests and closes the database.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type AuthConfigError, JoseAuthenticator, TokenMinter } from "@taskport/auth"
import { type Authenticator, TodoService, TodoToolsLayer } from "@taskport/core"
import { migrate, PgDatabase, PgliteClient } from "@taskport/postgres"
import { RestApp } from "@taskport/rest"
import { Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { serve as listen } from "h3"
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

/** The database layer for the configuration, announcing which one is used. */
export const databaseLayer = (config: ServerConfig, announce: Announce = stderrAnnounce) =>
  Option.match(config.databaseUrl, {
    onSome: (url) => {
      announce(`Database: Postgres at ${describeDatabase(url)}`)
      return PgDatabase.layer({ url, maxConnections: config.databasePoolSize })
    },
    onNone: () => {
      const dataDir = Path.resolve(config.dataDir)
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

/** Everything the surfaces need, built once per process. */
export const appLayer = (config: ServerConfig, announce: Announce = stderrAnnounce) => {
  const database = databaseLayer(config, announce)
  return Layer.mergeAll(
    authenticatorLayer(config),
    TodoToolsLayer.pipe(Layer.provideMerge(TodoService.layer), Layer.provideMerge(database))
  )
}

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
  Effect.gen(function* () {
    const log = Logging.makeLog(config.logLevel)
    const sql = yield* SqlClient.SqlClient
    const app = yield* RestApp.make({ corsOrigins: config.corsOrigins, ready: sql`SELECT 1`, log })
    const server = listen(app, { port: config.port, hostname: config.host, silent: true })
    yield* Effect.promise(() => server.ready())
    const base = (server.url ?? `http://${config.host}:${config.port}/`).replace(/\/$/, "")
    announce(`Taskport is listening on ${base} (docs at ${base}/docs)`)
    if (isDevMode(config)) {
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
    const signal = yield* waitForSignal
    announce(`Received ${signal}: finishing in-flight requests...`)
    // Stop accepting, let requests in flight complete, then the layer scope closes the database.
    yield* Effect.promise(() => server.close())
    announce("Stopped.")
  }).pipe(Effect.provide(Layer.mergeAll(appLayer(config, announce), Logging.layer(config.logLevel))))

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
          return PgliteClient.layer({ dataDir: Path.resolve(config.dataDir) })
        }
      })
    ),
    Effect.provide(Logging.layer(config.logLevel))
  )
