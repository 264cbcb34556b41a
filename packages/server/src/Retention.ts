/**
 * The retention settings and their sweep: how long the trash, idempotency keys and task events are kept
 * (as the core's references, so the use cases and adapters read them), and a fiber that
 * empties both of what has expired, now and then. Each sweep is a plain DELETE of expired
 * rows, so any number of processes may run it at once: a row is removed by whichever gets it.
 */
import {
  EventLog,
  EventRetention,
  IdempotencyRetention,
  IdempotencyStore,
  TaskRepository,
  TrashRetention
} from "@taskport/core"
import { Duration, Effect, Layer, Schedule } from "effect"
import type { ServerConfig } from "./ServerConfig.ts"

/** The configured retention periods, provided to everything built after it. */
export const layer = (config: ServerConfig) =>
  Layer.mergeAll(
    Layer.succeed(TrashRetention, Duration.days(config.trashRetentionDays)),
    Layer.succeed(IdempotencyRetention, Duration.hours(config.idempotencyKeyTtlHours)),
    Layer.succeed(EventRetention, Duration.days(config.eventRetentionDays))
  )

/** One sweep: the tasks trashed longer ago than the retention, the expired keys and the old events. */
export const sweep = Effect.gen(function* () {
  const tasks = yield* TaskRepository
  const keys = yield* IdempotencyStore
  const log = yield* EventLog
  const trashed = yield* tasks.purgeTrash(yield* TrashRetention)
  const expired = yield* keys.purgeExpired
  const events = yield* log.purgeExpired(yield* EventRetention)
  if (trashed + expired + events > 0)
    yield* Effect.logInfo("retention sweep").pipe(Effect.annotateLogs({ trashed, expired, events }))
})

/** How often a serving process sweeps; a missed sweep only delays a purge. */
export const SWEEP_EVERY = Duration.hours(1)

/** Sweeps at start and then every hour, for as long as the enclosing scope is open; a failed sweep is logged. */
export const sweeping = sweep.pipe(
  Effect.catch((error) =>
    Effect.logWarning("retention sweep failed").pipe(Effect.annotateLogs({ error: error._tag }))
  ),
  Effect.repeat(Schedule.spaced(SWEEP_EVERY)),
  Effect.forkScoped
)
