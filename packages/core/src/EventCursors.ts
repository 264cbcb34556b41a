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
  /**
   * Events per round, in all: the users' events in user order, each user's in position order,
   * the last user's cut short where the round is full (the rest come next round).
   */
  readonly events: number
}

/** One user's events in a round, in position order. */
export interface UserEvents {
  readonly owner: UserId
  readonly events: ReadonlyArray<TaskEvent>
}

export class EventCursors extends Context.Service<
  EventCursors,
  {
    /**
     * Hands the users with events the consumer has not handled yet their next events, all
     * at once, while holding those users' cursors (another process skips them meanwhile).
     * `handle` returns, for each user in the order given, how many of their events, from the
     * first, it handled (a user left out handled none); each cursor moves past those, in the
     * same transaction as whatever `handle` wrote. A `handle` that fails fails the round and
     * moves no cursor. Returns the events handled.
     */
    readonly drain: <E, R>(
      consumer: string,
      options: DrainOptions,
      handle: (round: ReadonlyArray<UserEvents>) => Effect.Effect<ReadonlyArray<number>, E, R>
    ) => Effect.Effect<number, E | RepositoryError, R>
  }
>()("@taskport/core/EventCursors") {}
