/**
 * Port for word that a user's events may have moved on, from any process: a wakeup carries
 * no event, because the outbox (`EventLog`) stays the source of truth and a woken reader
 * reads it after its own position. So a lost, repeated or coalesced wakeup can delay a
 * reader but never make it miss or repeat an event.
 *
 * `EventHub` is the in-process fan-out the adapters share: subscribers by user, each with a
 * one-slot mailbox, so any number of wakeups before a reader looks again count as one. The
 * background consumers of every user's events (webhook fan-out, NATS publishing) subscribe
 * to all users at once (`subscribeAll`).
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
    /** Subscribes to every user's events for the enclosing scope. */
    readonly subscribeAll: Effect.Effect<EventWakeups, never, Scope.Scope>
  }
>()("@taskport/core/EventFeed") {}

export interface EventHub {
  readonly subscribe: (owner: UserId) => Effect.Effect<EventWakeups, never, Scope.Scope>
  readonly subscribeAll: Effect.Effect<EventWakeups, never, Scope.Scope>
  /** Wakes the user's subscribers in this process. */
  readonly wake: (owner: string) => void
  /** Wakes every subscriber, after notifications may have been missed (a listener reconnected). */
  readonly wakeAll: () => void
}

export const makeEventHub = (): EventHub => {
  const subscribers = new Map<string, Set<Queue.Queue<void>>>()
  const everyone = new Set<Queue.Queue<void>>()
  const poke = (mailboxes: Iterable<Queue.Queue<void>>) => {
    for (const mailbox of mailboxes) Queue.offerUnsafe(mailbox, undefined)
  }
  const mailboxIn = (
    add: (mailbox: Queue.Queue<void>) => void,
    remove: (mailbox: Queue.Queue<void>) => void
  ) =>
    Effect.acquireRelease(
      Effect.tap(Queue.sliding<void>(1), (mailbox) => Effect.sync(() => add(mailbox))),
      (mailbox) => Effect.sync(() => remove(mailbox))
    ).pipe(Effect.map((mailbox): EventWakeups => ({ next: Queue.take(mailbox) })))
  return {
    subscribe: (owner) =>
      mailboxIn(
        (mailbox) => {
          let set = subscribers.get(owner)
          if (set === undefined) {
            set = new Set()
            subscribers.set(owner, set)
          }
          set.add(mailbox)
        },
        (mailbox) => {
          const set = subscribers.get(owner)
          set?.delete(mailbox)
          if (set?.size === 0) subscribers.delete(owner)
        }
      ),
    subscribeAll: mailboxIn(
      (mailbox) => everyone.add(mailbox),
      (mailbox) => everyone.delete(mailbox)
    ),
    wake: (owner) => {
      poke(subscribers.get(owner) ?? [])
      poke(everyone)
    },
    wakeAll: () => {
      for (const set of subscribers.values()) poke(set)
      poke(everyone)
    }
  }
}

/** A feed for one process that is told of its own writes by `wake` (tests, embedded use). */
export const layerHub = (hub: EventHub): Layer.Layer<EventFeed> =>
  Layer.succeed(EventFeed, EventFeed.of({ subscribe: hub.subscribe, subscribeAll: hub.subscribeAll }))
