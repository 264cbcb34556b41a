/**
 * Ready-to-use persistence layers: the repositories over a Postgres server (`layer`) or over
 * embedded PGlite (`layerPglite`), with the schema migrated on start unless told otherwise.
 */
import { PgClient, PgPool } from "@effect/sql-pg"
import {
  ConversationRepository,
  type DeliveryQueue,
  type EventCursors,
  type EventFeed,
  EventLog,
  type IdempotencyStore,
  PendingActionRepository,
  QuotaCounts,
  SettingsRepository,
  TaskRepository,
  type Transactor,
  WebhookRepository
} from "@taskport/core"
import { type Context, Duration, Effect, Layer, type Redacted } from "effect"
import { type Migrator, SqlClient, type SqlError } from "effect/sql"
import { migrate } from "./Migrations.ts"
import { FencedSessions, fenced, sessionStartup } from "./OwnerFence.ts"
import * as PgConversationRepository from "./PgConversationRepository.ts"
import * as PgDeliveryQueue from "./PgDeliveryQueue.ts"
import * as PgEventCursors from "./PgEventCursors.ts"
import * as PgEventFeed from "./PgEventFeed.ts"
import * as PgEventLog from "./PgEventLog.ts"
import * as PgIdempotencyStore from "./PgIdempotencyStore.ts"
import * as PgliteClient from "./PgliteClient.ts"
import * as PgPendingActionRepository from "./PgPendingActionRepository.ts"
import * as PgQuotaCounts from "./PgQuotaCounts.ts"
import * as PgSettingsRepository from "./PgSettingsRepository.ts"
import * as PgTaskRepository from "./PgTaskRepository.ts"
import * as PgTransactor from "./PgTransactor.ts"
import * as PgWebhookRepository from "./PgWebhookRepository.ts"

export type Repositories =
  | TaskRepository
  | ConversationRepository
  | IdempotencyStore
  | Transactor
  | PendingActionRepository
  | SettingsRepository
  | QuotaCounts
  | WebhookRepository
  | DeliveryQueue
  | EventCursors
  | EventLog

/** Everything a database layer provides besides its `SqlClient`: the repositories and the event feed. */
export type Persistence = Repositories | EventFeed

/** A repository whose every call runs behind the row-level security fence of its owner. */
const fencedLayer = <I, S extends object>(
  key: Context.Key<I, S>,
  make: Effect.Effect<S, never, SqlClient.SqlClient>
): Layer.Layer<I, never, SqlClient.SqlClient> =>
  Layer.effect(
    key,
    Effect.gen(function* () {
      return fenced(yield* SqlClient.SqlClient, yield* make, yield* Effect.serviceOption(FencedSessions))
    })
  )

/**
 * The repositories, the idempotency store and the counts quotas are checked against, over a provided `SqlClient`,
 * each call fenced by row-level security to the owner it names.
 */
export const repositories: Layer.Layer<Repositories, never, SqlClient.SqlClient> = Layer.mergeAll(
  fencedLayer(TaskRepository, PgTaskRepository.make),
  fencedLayer(ConversationRepository, PgConversationRepository.make),
  fencedLayer(QuotaCounts, PgQuotaCounts.make),
  fencedLayer(PendingActionRepository, PgPendingActionRepository.make),
  fencedLayer(SettingsRepository, PgSettingsRepository.make),
  fencedLayer(WebhookRepository, PgWebhookRepository.make),
  // The queue serves every user's deliveries, like the retention sweep: it runs unfenced.
  PgDeliveryQueue.layer,
  PgEventCursors.layer,
  fencedLayer(EventLog, PgEventLog.make),
  // The store's calls name their owner inside an object; they run in the use case's
  // transaction, behind the fence of the write they guard when there is one.
  PgIdempotencyStore.layer,
  PgTransactor.layer
)

const migrated = <A, E>(
  client: Layer.Layer<A | SqlClient.SqlClient, E>,
  runMigrations: boolean
): Layer.Layer<A | SqlClient.SqlClient, E | SqlError.SqlError | Migrator.MigrationError> =>
  runMigrations ? Layer.effectDiscard(Effect.asVoid(migrate)).pipe(Layer.provideMerge(client)) : client

export interface PostgresOptions {
  /** A postgres:// connection URL (Neon and other hosted servers included). */
  readonly url: Redacted.Redacted
  /** Connections kept by this process's pool (default 10). */
  readonly maxConnections?: number | undefined
  /** Apply pending migrations when the layer is built (default true). */
  readonly migrate?: boolean | undefined
  /** Schema to work in (default the server's search_path), e.g. to isolate test runs. */
  readonly schema?: string | undefined
  readonly applicationName?: string | undefined
}

const clientConfig = (options: PostgresOptions): PgClient.PgPoolConfig => ({
  url: options.url,
  maxConnections: options.maxConnections ?? 10,
  connectTimeout: Duration.seconds(5),
  applicationName: options.applicationName ?? "taskport",
  ...(options.schema === undefined ? {} : { startupParameters: { search_path: options.schema } })
})

/** `SqlClient` (and the driver's own `PgClient`) for a Postgres server via `@effect/sql-pg`. */
export const layerClient = (
  options: PostgresOptions
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, SqlError.SqlError> =>
  PgClient.layer(clientConfig(options))

/**
 * The pool of sessions that fenced calls run on, as large as the application's pool (which
 * then serves only what runs unfenced: migrations, sweeps, listeners); each pool opens its
 * connections only when they are needed.
 */
export const layerFencedSessions = (
  options: PostgresOptions
): Layer.Layer<FencedSessions, SqlError.SqlError> => {
  const config = clientConfig(options)
  return Layer.effect(
    FencedSessions,
    Effect.map(
      PgPool.make({
        ...config,
        // One call at a time per connection, its statements pipelined (see `OwnerFence`).
        multiplex: true,
        multiplexConcurrency: 1,
        startupParameters: { ...config.startupParameters, ...sessionStartup }
      }),
      (pool) => FencedSessions.of({ take: pool.get })
    )
  )
}

/**
 * The feed of event notifications, on a connection of its own: a listening connection is
 * held for the process's life, and taking it from the application's pool would leave that
 * pool one short (with a pool of one, nothing else would ever run).
 */
export const layerEventFeed = (options: PostgresOptions): Layer.Layer<EventFeed, SqlError.SqlError> =>
  PgEventFeed.layer.pipe(Layer.provide(PgClient.layer({ ...clientConfig(options), maxConnections: 1 })))

/** The repositories over a Postgres server, and the feed of its event notifications. */
export const layer = (
  options: PostgresOptions
): Layer.Layer<Persistence | SqlClient.SqlClient, SqlError.SqlError | Migrator.MigrationError> =>
  Layer.merge(repositories.pipe(Layer.provide(layerFencedSessions(options))), layerEventFeed(options)).pipe(
    Layer.provideMerge(migrated(layerClient(options), options.migrate ?? true))
  )

export interface EmbeddedOptions extends PgliteClient.PgliteOptions {
  /** Apply pending migrations when the layer is built (default true). */
  readonly migrate?: boolean | undefined
}

/** The repositories over embedded PGlite: in memory, or in a data directory. */
export const layerPglite = (
  options: EmbeddedOptions = {}
): Layer.Layer<
  Persistence | SqlClient.SqlClient | PgliteClient.Pglite,
  | SqlError.SqlError
  | Migrator.MigrationError
  | PgliteClient.DataDirectoryLocked
  | PgliteClient.DataDirectoryError
> =>
  Layer.merge(repositories, PgEventFeed.layerPglite).pipe(
    Layer.provideMerge(migrated(PgliteClient.layer(options), options.migrate ?? true))
  )
