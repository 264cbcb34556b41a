/**
 * Port for publishing task events to a message broker (NATS JetStream), and the publisher
 * that feeds it from the outbox: each user's events in position order, through a per-user
 * cursor kept in the database, so a broker outage only delays events and a restart resumes.
 * Delivery is at least once: an event published but not yet recorded as such is published
 * again, with the same message id, which the broker's de-duplication drops.
 */
import { Context, Effect } from "effect"
import { type DrainOptions, EventCursors } from "./EventCursors.ts"
import type { TaskEvent } from "./TaskEvent.ts"

export class EventSink extends Context.Service<
  EventSink,
  {
    /**
     * Publishes the events in order and returns how many, from the first, the broker
     * acknowledged; it stops at the first that fails (the rest wait for the next round).
     */
    readonly publish: (events: ReadonlyArray<TaskEvent>) => Effect.Effect<number>
  }
>()("@taskport/core/EventSink") {}

/** The outbox consumer that publishes to the event sink. */
export const SINK_CONSUMER = "nats"

/** One round: publishes what each user's cursor has not seen yet; returns how many were published. */
export const publishEvents = (options: DrainOptions) =>
  Effect.gen(function* () {
    const sink = yield* EventSink
    const cursors = yield* EventCursors
    return yield* cursors.drain(SINK_CONSUMER, options, (round) =>
      Effect.gen(function* () {
        const published: Array<number> = []
        for (const { events } of round) {
          const count = yield* sink.publish(events)
          published.push(count)
          // The broker stopped taking events: the rest wait for the next round.
          if (count < events.length) break
        }
        return published
      })
    )
  }).pipe(Effect.withSpan("EventSink.publishEvents"))
