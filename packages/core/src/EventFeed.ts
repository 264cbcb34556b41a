/**
 * Port for word that a user's events may have moved on, from any process: a wakeup carries
 * no event, because the outbox (`EventLog`) stays the source of truth and a woken reader
 * reads it after its own position. So a lost, repeated or coalesced wakeup can delay a
 * reader but never make it miss or repeat an event.
 *
 * `EventHub` is the in-process fan-out the adapters share: subscribers by user, each with a
 * one-slot mailbox, so any number of wakeups before a reader looks again count as one.
 */
import { Context, Effect, Layer, Queue, type Scope } from "effect"
import type { UserId } from "./CurrentUser.ts"

export interface EventWakeups {
  /** Waits until the user's events may have moved on since the last wakeup was taken. */
  readonly next: Effect.Effect<void>
}

export class EventFeed extends Context.Service<
  EventFeed,
  {
    /** Subscribes for the enclosing scope; wakeups for events committed after this returns are never lost. */
    readonly subscribe: (owner: UserId) => Effect.Effect<EventWakeups, never, Scope.Scope>
  }
>()("@taskport/core/EventFeed") {}

export interface EventHub {
  readonly subscribe: (owner: UserId) => Effect.Effect<EventWakeups, never, Scope.Scope>
  /** Wakes the user's subscribers in this process. */
  readonly wake: (owner: string) => void
  /** Wakes every subscriber, after notifications may have been missed (a listener reconnected). */
  readonly wakeAll: () => void
}

export const makeEventHub = (): EventHub => {
  const subscribers = new Map<string, Set<Queue.Queue<void>>>()
  const poke = (mailboxes: Iterable<Queue.Queue<void>>) => {
    for (const mailbox of mailboxes) Queue.offerUnsafe(mailbox, undefined)
  }
  return {
    subscribe: (owner) =>
      Effect.acquireRelease(
        Effect.gen(function* () {
          const mailbox = yield* Queue.sliding<void>(1)
          let set = subscribers.get(owner)
          if (set === undefined) {
            set = new Set()
            subscribers.set(owner, set)
          }
          set.add(mailbox)
          return mailbox
        }),
        (mailbox) =>
          Effect.sync(() => {
            const set = subscribers.get(owner)
            set?.delete(mailbox)
            if (set?.size === 0) subscribers.delete(owner)
          })
      ).pipe(Effect.map((mailbox): EventWakeups => ({ next: Queue.take(mailbox) }))),
    wake: (owner) => poke(subscribers.get(owner) ?? []),
    wakeAll: () => {
      for (const set of subscribers.values()) poke(set)
    }
  }
}

/** A feed for one process that is told of its own writes by `wake` (tests, embedded use). */
export const layerHub = (hub: EventHub): Layer.Layer<EventFeed> =>
  Layer.succeed(EventFeed, EventFeed.of({ subscribe: hub.subscribe }))
