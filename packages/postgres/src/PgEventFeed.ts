/**
 * `EventFeed` over Postgres `LISTEN`/`NOTIFY`: every committed task event notifies the
 * `taskport_events` channel with its user's id (`PgEventLog.recordEvent`, in the write's own
 * statement, so the notification is sent at commit and never for a rollback). Each process
 * holds one listening connection and fans the notifications out to its streams in memory.
 * When the connection drops it listens again, a second later, and then wakes every stream,
 * since notifications sent meanwhile are lost: the streams re-read the outbox, which is the
 * source of truth. PGlite is one process with one connection: its own `listen` is enough.
 */
import { PgClient } from "@effect/sql-pg"
import { EventFeed, makeEventHub } from "@taskport/core"
import { Duration, Effect, Layer, Queue, Schedule } from "effect"
import { EVENTS_CHANNEL } from "./PgEventLog.ts"
import { Pglite } from "./PgliteClient.ts"

/** The feed over a Postgres server's notifications. */
export const layer: Layer.Layer<EventFeed, never, PgClient.PgClient> = Layer.effect(
  EventFeed,
  Effect.gen(function* () {
    const client = yield* PgClient.PgClient
    const hub = makeEventHub()
    const listenOnce = Effect.scoped(
      Effect.gen(function* () {
        const notifications = yield* client.listen(EVENTS_CHANNEL)
        hub.wakeAll()
        for (;;) hub.wake((yield* Queue.take(notifications)).payload)
      })
    )
    yield* listenOnce.pipe(
      Effect.tapError(() => Effect.logWarning("event notifications lost; listening again")),
      Effect.retry(Schedule.spaced(Duration.seconds(1))),
      Effect.forkScoped
    )
    return EventFeed.of({ subscribe: hub.subscribe, subscribeAll: hub.subscribeAll })
  })
)

/** The feed over embedded PGlite's own notifications. */
export const layerPglite: Layer.Layer<EventFeed, never, Pglite> = Layer.effect(
  EventFeed,
  Effect.gen(function* () {
    const db = yield* Pglite
    const hub = makeEventHub()
    yield* Effect.acquireRelease(
      Effect.promise(() => db.listen(EVENTS_CHANNEL, (payload) => hub.wake(payload))),
      (unlisten) => Effect.promise(() => unlisten())
    )
    return EventFeed.of({ subscribe: hub.subscribe, subscribeAll: hub.subscribeAll })
  })
)
