/**
 * The one place that decides which database Taskport runs on: Postgres when DATABASE_URL is
 * set, embedded PGlite in the data directory otherwise. Every command that touches data
 * (serve, mcp, migrate, chat --local) takes its database layer from here.
 */
import * as Path from "node:path"
import * as V8 from "node:v8"
import type {
  ConversationRepository,
  DeliveryQueue,
  EventCursors,
  EventFeed,
  EventLog,
  IdempotencyStore,
  PendingActionRepository,
  QuotaCounts,
  SettingsRepository,
  TaskRepository,
  Transactor,
  WebhookRepository
} from "@taskport/core"
import { PgDatabase, PgliteClient } from "@taskport/postgres"
import { Data, type Layer, Option, Redacted } from "effect"
import type { Migrator, SqlClient, SqlError } from "effect/sql"
import * as Announce from "./Announce.ts"
import type { ServerConfig } from "./ServerConfig.ts"

/** The database a configuration names. */
export type Choice = Data.TaggedEnum<{
  Postgres: { readonly url: Redacted.Redacted; readonly poolSize: number }
  Embedded: { readonly dataDir: string }
}>
export const Choice = Data.taggedEnum<Choice>()

export const choose = (config: ServerConfig): Choice =>
  Option.match(config.databaseUrl, {
    onSome: (url) => Choice.Postgres({ url, poolSize: config.databasePoolSize }),
    onNone: () => Choice.Embedded({ dataDir: Path.resolve(config.dataDir) })
  })

/** Where a Postgres URL points, without its credentials or parameters. */
export const describeUrl = (url: Redacted.Redacted): string => {
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

export interface LayerOptions {
  /** Apply pending migrations when the layer is built (default true). */
  readonly migrate?: boolean | undefined
  /** Caps the Postgres pool below the configured size (one-shot commands need one connection). */
  readonly maxConnections?: number | undefined
  readonly announce?: Announce.Announce | undefined
}

/** Why the database could not be opened or migrated; each names the server or directory at fault. */
export type DatabaseError =
  | SqlError.SqlError
  | Migrator.MigrationError
  | PgliteClient.DataDirectoryLocked
  | PgliteClient.DataDirectoryError

/** The repositories and the `SqlClient` on the configured database, announcing which one it is. */
export const layer = (
  config: ServerConfig,
  options: LayerOptions = {}
): Layer.Layer<
  | TaskRepository
  | ConversationRepository
  | IdempotencyStore
  | Transactor
  | PendingActionRepository
  | QuotaCounts
  | SettingsRepository
  | EventLog
  | WebhookRepository
  | DeliveryQueue
  | EventCursors
  | EventFeed
  | SqlClient.SqlClient,
  DatabaseError
> => {
  const announce = options.announce ?? Announce.stderr
  return Choice.$match(choose(config), {
    Postgres: ({ url, poolSize }) => {
      announce(`Database: Postgres at ${describeUrl(url)}`)
      return PgDatabase.layer({
        url,
        maxConnections: Math.min(poolSize, options.maxConnections ?? poolSize),
        migrate: options.migrate
      })
    },
    Embedded: ({ dataDir }) => {
      tuneForEmbedded()
      announce(
        PgliteClient.isInitialised(dataDir)
          ? `Database: embedded PGlite in ${dataDir}`
          : `Database: initialising embedded PGlite in ${dataDir} (first start, a few seconds)...`
      )
      return PgDatabase.layerPglite({ dataDir, migrate: options.migrate })
    }
  })
}
