/**
 * Publishing task events to NATS JetStream when `NATS_URL` is set: a scoped fiber of the
 * serving process that connects (retrying while the broker is away) and then, round after
 * round, publishes what each user's cursor has not seen yet, woken by the outbox's
 * notifications and polling otherwise. The cursors are claimed per user in the database, so
 * several processes may publish together and a user's events keep their order.
 */
import { type EventCursors, EventSink, publishEvents } from "@taskport/core"
import { NatsEventSink } from "@taskport/nats"
import { Duration, Effect, Option, type Scope } from "effect"
import type { ServerConfig } from "./ServerConfig.ts"
import { idleWait } from "./Wakeups.ts"

const DRAIN = { users: 50, events: 100 }

export const publishing = (config: ServerConfig): Effect.Effect<void, never, EventCursors | Scope.Scope> =>
  Option.match(config.natsUrl, {
    onNone: () => Effect.void,
    onSome: (url) => {
      return Effect.gen(function* () {
        const idle = yield* idleWait(Duration.millis(config.webhookPollMs))
        const sink = yield* NatsEventSink.make({ url, stream: config.natsStream })
        const round = publishEvents(DRAIN).pipe(
          Effect.provideService(EventSink, sink),
          Effect.catch((error) =>
            Effect.as(
              Effect.logWarning("event publishing round failed").pipe(
                Effect.annotateLogs({ error: error._tag })
              ),
              0
            )
          )
        )
        return yield* round.pipe(
          Effect.flatMap((published) => (published >= DRAIN.events ? Effect.void : idle)),
          Effect.forever
        )
      }).pipe(Effect.scoped, Effect.forkScoped, Effect.asVoid)
    }
  })
