/**
 * Port for storing tasks. Every method takes the owner's id and must behave as if other
 * users' rows did not exist: a foreign task is reported exactly like a missing one. A deleted
 * task waits in the trash: only the trash listing, `restore` and `purge` see it.
 */
import { Context, type Duration, type Effect, type Option } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { DueWindow } from "./DueViews.ts"
import type { QuotaExceeded, RepositoryError } from "./Errors.ts"
import type { QuotaBound } from "./Quotas.ts"
import type { Priority, SortOrder, Task, TaskId, TaskSort } from "./Task.ts"

/** A due value as stored: its canonical text and the instant used to order and filter. */
export interface StoredDue {
  readonly text: string
  readonly epochMillis: number
}

/** A reminder as stored: its canonical text and the instant it comes. */
export interface StoredReminder {
  readonly text: string
  readonly atMillis: number
}

/** A task whose reminder has come, as found by `dueReminders`. */
export interface DueReminder {
  readonly owner: UserId
  readonly id: TaskId
  readonly atMillis: number
}

export interface NewTask {
  readonly title: string
  readonly description: string | null
  readonly priority: Priority
  readonly due: StoredDue | null
  readonly tags: ReadonlyArray<string>
  readonly recurrence?: string | null
  readonly reminder?: StoredReminder | null
}

/** Fields to change; an absent key is left as it is. */
export interface TaskPatch {
  readonly title?: string
  readonly description?: string | null
  readonly priority?: Priority
  readonly due?: StoredDue | null
  readonly tags?: ReadonlyArray<string>
  readonly recurrence?: string | null
  /** A reminder coming at another instant than before is armed again. */
  readonly reminder?: StoredReminder | null
}

/** The position of a row in a sorted listing: its sort key and its id as the tie-breaker. */
export interface KeysetPosition {
  readonly key: string | number | null
  readonly id: number
}

export interface TaskQuery {
  /** `trashed` lists the trash; the others list live tasks only. */
  readonly status: "all" | "pending" | "completed" | "trashed"
  readonly priority?: Priority
  readonly tag?: string
  readonly dueBefore?: number
  readonly dueAfter?: number
  /** Tasks due within a window of the user's calendar (see `DueViews`). */
  readonly dueWindow?: DueWindow
  /** Only tasks without a due. */
  readonly dueNone?: boolean
  /** Completed at or after this instant. */
  readonly completedFrom?: number
  /** Completed strictly before this instant. */
  readonly completedBefore?: number
  readonly text?: string
  readonly sort: TaskSort
  readonly order: SortOrder
  readonly limit: number
  readonly after?: KeysetPosition
}

export interface TaskSlice {
  readonly items: ReadonlyArray<Task>
  /** Where the next page starts; none when this page is the last. */
  readonly next: Option.Option<KeysetPosition>
}

export type UpdateOutcome =
  | { readonly _tag: "Updated"; readonly task: Task }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Conflict"; readonly currentVersion: number }

export class TaskRepository extends Context.Service<
  TaskRepository,
  {
    readonly insert: (owner: UserId, task: NewTask) => Effect.Effect<Task, RepositoryError>
    /** Inserts the task unless the owner is at `bound`, then refused with `QuotaExceeded`. */
    readonly insertWithin: (
      owner: UserId,
      task: NewTask,
      bound: QuotaBound | undefined
    ) => Effect.Effect<Task, RepositoryError | QuotaExceeded>
    readonly find: (owner: UserId, id: TaskId) => Effect.Effect<Option.Option<Task>, RepositoryError>
    /** Applies the patch, bumping version and updated_at, only while at `expectedVersion` if given. */
    readonly update: (
      owner: UserId,
      id: TaskId,
      patch: TaskPatch,
      expectedVersion: number | undefined
    ) => Effect.Effect<UpdateOutcome, RepositoryError>
    /** Sets the completion state; a task already in that state (and version) is returned unchanged. */
    readonly setCompleted: (
      owner: UserId,
      id: TaskId,
      completed: boolean,
      expectedVersion: number | undefined
    ) => Effect.Effect<UpdateOutcome, RepositoryError>
    /** Moves a live task to the trash and returns it as it was (its version unchanged). */
    readonly delete: (
      owner: UserId,
      id: TaskId,
      expectedVersion: number | undefined
    ) => Effect.Effect<UpdateOutcome, RepositoryError>
    /** Takes a task out of the trash, bumping its version. */
    readonly restore: (
      owner: UserId,
      id: TaskId,
      expectedVersion: number | undefined
    ) => Effect.Effect<UpdateOutcome, RepositoryError>
    /** Removes a task in the trash for good and returns it as it was. */
    readonly purge: (
      owner: UserId,
      id: TaskId,
      expectedVersion: number | undefined
    ) => Effect.Effect<UpdateOutcome, RepositoryError>
    /**
     * Removes, for every user, the tasks trashed longer ago than `olderThan`, and returns how
     * many. Safe to run from many processes at once: each row is deleted once.
     */
    readonly purgeTrash: (olderThan: Duration.Duration) => Effect.Effect<number, RepositoryError>
    /**
     * Completes an open recurring task and inserts its next occurrence, linked from it, in one
     * transaction. None when the task is missing or no longer open.
     */
    readonly completeOccurrence: (
      owner: UserId,
      id: TaskId,
      next: NewTask
    ) => Effect.Effect<Option.Option<Task>, RepositoryError>
    /**
     * Reopens a completed occurrence; its next occurrence is deleted if it is still open and
     * unchanged since it was scheduled, so undoing a completion leaves one open task.
     */
    readonly reopenOccurrence: (
      owner: UserId,
      id: TaskId
    ) => Effect.Effect<Option.Option<Task>, RepositoryError>
    readonly list: (owner: UserId, query: TaskQuery) => Effect.Effect<TaskSlice, RepositoryError>
    /**
     * For every user, up to `limit` open live tasks whose reminder has come by `nowMillis` and
     * not fired yet, oldest first. Reminders that came while their task was completed or in
     * the trash are settled on the way, so they never fire later.
     */
    readonly dueReminders: (
      nowMillis: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<DueReminder>, RepositoryError>
    /**
     * Fires one reminder: marks it fired and records its `task.reminder` event, in one
     * conditional statement, only if the task is still open and live, its reminder still
     * comes at `atMillis`, by `nowMillis`, and has not fired: of several processes firing it
     * at once, one gets the task, the others none.
     */
    readonly fireReminder: (
      owner: UserId,
      id: TaskId,
      atMillis: number,
      nowMillis: number
    ) => Effect.Effect<Option.Option<Task>, RepositoryError>
  }
>()("@taskport/core/TaskRepository") {}
