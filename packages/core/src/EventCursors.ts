/**
 * Port for the outbox's consumers that run in the background (webhook fan-out, the NATS
 * publisher): each keeps, per user, the position of the last event it handled, in the
 * database, so a restart resumes where it stopped and several processes share the work. A
 * user's events are handled by one process at a time, in position order.
 */
import { Context, type Effect } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { RepositoryError } from "./Errors.ts"
import type { TaskEvent } from "./TaskEvent.ts"

export interface DrainOptions {
  /** Users handled per round. */
  readonly users: number
  /** Events per user per round. */
  readonly events: number
}

export class EventCursors extends Context.Service<
  EventCursors,
  {
    /**
     * Hands each user with events the consumer has not handled yet their next events, in
     * order, while holding that user's cursor (another process skips the user meanwhile).
     * `handle` returns how many of them, from the first, it handled; the cursor moves past
     * those, in the same transaction as whatever `handle` wrote. Returns the events handled.
     * A `handle` that fails fails the round: the users handed out before it keep their
     * progress, unless the failure left nothing able to commit (a failed statement in the
     * round's transaction), in which case the whole round, their writes included, comes again.
     */
    readonly drain: <E, R>(
      consumer: string,
      options: DrainOptions,
      handle: (owner: UserId, events: ReadonlyArray<TaskEvent>) => Effect.Effect<number, E, R>
    ) => Effect.Effect<number, E | RepositoryError, R>
  }
>()("@taskport/core/EventCursors") {}
