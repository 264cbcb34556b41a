/**
 * How the background consumers of the outbox (webhook fan-out and delivery, NATS publishing)
 * wait between rounds: for their poll interval, or less when the database says new events
 * were committed (Postgres LISTEN/NOTIFY on any process, PGlite's own notifications). The
 * wakeup is only a hint: a lost one costs at most one poll interval, as the rounds read the
 * outbox itself.
 */
import { EventFeed } from "@taskport/core"
import { type Duration, Effect, Option, type Scope } from "effect"

/** Subscribes for the enclosing scope and returns the wait between two rounds. */
export const idleWait = (poll: Duration.Duration): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const feed = yield* Effect.serviceOption(EventFeed)
    if (Option.isNone(feed)) return Effect.sleep(poll)
    const wakeups = yield* feed.value.subscribeAll
    return Effect.raceFirst(Effect.sleep(poll), wakeups.next)
  })
