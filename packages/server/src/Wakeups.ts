/**
 * How the background consumers of the outbox (webhook fan-out and delivery, NATS publishing)
 * wait between rounds: for their poll interval, or less when the database says new events
 * were committed (Postgres LISTEN/NOTIFY on any process, PGlite's own notifications). The
 * wakeup is only a hint: a lost one costs at most one poll interval, as the rounds read the
 * outbox itself. Rounds start at least `ROUND_GAP` apart: under a stream of writes every
 * round finds a wakeup waiting, and back-to-back rounds would cost the server a share of every
 * write; a round handles all the events committed since the last one, so spacing them only
 * batches more of them per round.
 */
import { EventFeed } from "@taskport/core"
import { Duration, Effect, Option, type Scope } from "effect"

/** The least time from one round's wait to the next round. */
export const ROUND_GAP = Duration.millis(100)

/** Subscribes for the enclosing scope and returns the wait between two rounds. */
export const idleWait = (poll: Duration.Duration): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const feed = yield* Effect.serviceOption(EventFeed)
    if (Option.isNone(feed)) return Effect.sleep(poll)
    const wakeups = yield* feed.value.subscribeAll
    const gap = Duration.min(ROUND_GAP, poll)
    return Effect.andThen(
      Effect.sleep(gap),
      Effect.raceFirst(Effect.sleep(Duration.subtract(poll, gap)), wakeups.next)
    )
  })
