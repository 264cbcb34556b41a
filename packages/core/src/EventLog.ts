/**
 * Port for reading the outbox: a user's task events, by position. The events themselves are
 * written by the `TaskRepository`'s writes, in the same transaction as each change (see
 * `TaskEvent` for the contract on ids and positions); this port reads them back as history
 * and streams, and drops them after the retention period.
 */
import { Context, Duration, type Effect, type Option } from "effect"
import type { Surface } from "./Actor.ts"
import type { UserId } from "./CurrentUser.ts"
import type { RepositoryError } from "./Errors.ts"
import type { TaskId } from "./Task.ts"
import type { TaskEvent, TaskEventType } from "./TaskEvent.ts"

export interface EventQuery {
  /** `asc` from the oldest (streams, resuming), `desc` from the newest (history). */
  readonly order: "asc" | "desc"
  /** Only events past this position in the listing's order (exclusive). */
  readonly after?: number
  readonly taskId?: TaskId
  readonly types?: ReadonlyArray<TaskEventType>
  readonly surface?: Surface
  /** Occurred at or after this instant. */
  readonly since?: number
  /** Occurred strictly before this instant. */
  readonly until?: number
  readonly limit: number
}

export interface EventSlice {
  readonly items: ReadonlyArray<TaskEvent>
  /** The position to continue after; none when this page is the last. */
  readonly next: Option.Option<number>
}

export class EventLog extends Context.Service<
  EventLog,
  {
    readonly list: (owner: UserId, query: EventQuery) => Effect.Effect<EventSlice, RepositoryError>
    /** The position of the user's latest committed event; 0 before the first. */
    readonly head: (owner: UserId) => Effect.Effect<number, RepositoryError>
    /**
     * Removes, for every user, the events older than `olderThan`, and returns how many. Safe
     * to run from many processes at once. Positions are never reused.
     */
    readonly purgeExpired: (olderThan: Duration.Duration) => Effect.Effect<number, RepositoryError>
  }
>()("@taskport/core/EventLog") {}

/** How long events are kept (`EVENT_RETENTION_DAYS`). */
export const EventRetention = Context.Reference<Duration.Duration>("@taskport/core/EventRetention", {
  defaultValue: () => Duration.days(30)
})
