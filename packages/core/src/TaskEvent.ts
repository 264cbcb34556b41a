/**
 * Task events: the record of every change to a task, written by the repository in the same
 * statement or transaction as the change itself (the transactional outbox), so an event
 * exists exactly when its change does.
 *
 * Contract for writers and readers:
 * - `id` is a random uuid, stable for the event's life: use it as a message id (webhooks,
 *   JetStream `Nats-Msg-Id`).
 * - `position` counts a user's events 1, 2, 3, ... with no gap, in commit order: a write
 *   takes the next value of the user's counter row in its own transaction and holds that row
 *   until it commits or rolls back, so an event with a lower position is always committed
 *   before one with a higher position becomes visible. A reader that has seen everything up
 *   to position n and reads `position > n` later misses nothing and repeats nothing.
 * - The store keeps the task as it was (`before`) and as it is after the change (`after`);
 *   which fields changed is decided here (`taskEventOf`), not in SQL.
 * - `task.reminder` says a task's reminder came: it changes nothing the task shows (its
 *   version stays) and carries the whole task.
 */
import { Schema } from "effect"
import { Actor } from "./Actor.ts"
import { Task, TaskId, Version } from "./Task.ts"

export const TaskEventType = Schema.Literals([
  "task.created",
  "task.updated",
  "task.completed",
  "task.reopened",
  "task.deleted",
  "task.restored",
  "task.purged",
  "task.reminder"
]).annotate({ description: "What happened to the task." })
export type TaskEventType = typeof TaskEventType.Type

/** The event each repository write records, by the write. */
export const WriteEvent = {
  insert: "task.created",
  update: "task.updated",
  complete: "task.completed",
  reopen: "task.reopened",
  delete: "task.deleted",
  restore: "task.restored",
  purge: "task.purged",
  remind: "task.reminder"
} as const satisfies Record<string, TaskEventType>

export const EventId = Schema.String.check(
  Schema.isPattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
)
  .pipe(Schema.brand("EventId"))
  .annotate({ description: "The event's id (a uuid), stable: usable as a message id." })
export type EventId = typeof EventId.Type

export const EventPosition = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
  description: "The event's place among the user's events (1, 2, ...), in commit order; resume after it."
})

export const FieldChange = Schema.Struct({
  before: Schema.Unknown,
  after: Schema.Unknown
})
export type FieldChange = typeof FieldChange.Type

export const TaskEvent = Schema.Struct({
  id: EventId,
  position: EventPosition,
  type: TaskEventType,
  task_id: TaskId,
  task_version: Version.annotate({ description: "The task's version after the change." }),
  occurred_at: Schema.String.annotate({ description: "When the change was made (ISO 8601)." }),
  actor: Actor,
  task: Schema.NullOr(Task).annotate({
    description:
      "The whole task: as created (task.created), reminded of (task.reminder) or as it was (task.purged); null otherwise."
  }),
  changes: Schema.Record(Schema.String, FieldChange).annotate({
    description: "Each changed field's value before and after the change."
  })
}).annotate({ identifier: "TaskEvent", description: "One change to a task." })
export type TaskEvent = typeof TaskEvent.Type

/** An event as stored: the task before and after the change, next to the event's facts. */
export interface StoredEvent {
  readonly id: EventId
  readonly position: number
  readonly type: TaskEventType
  readonly task_id: TaskId
  readonly task_version: number
  readonly occurred_at: string
  readonly actor: Actor
  readonly before: Task | null
  readonly after: Task | null
}

/**
 * Fields a change reports. The version and `updated_at` change with every write and are
 * reported as the event's own `task_version` and `occurred_at`; the id and creation time never change.
 */
const REPORTED: ReadonlyArray<keyof Task> = [
  "title",
  "description",
  "priority",
  "completed",
  "completed_at",
  "due",
  "tags",
  "recurrence",
  "reminder",
  "remind_at",
  "next_occurrence_id"
]

const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b)

/** The fields whose value differs between two states of a task, with both values. */
export const changedFields = (before: Task, after: Task): Record<string, FieldChange> => {
  const changes: Record<string, FieldChange> = {}
  for (const field of REPORTED) {
    if (!same(before[field], after[field])) changes[field] = { before: before[field], after: after[field] }
  }
  return changes
}

/** The event as readers see it, from what the store kept. */
export const taskEventOf = (stored: StoredEvent): TaskEvent => {
  const whole =
    stored.type === "task.created" || stored.type === "task.reminder"
      ? stored.after
      : stored.type === "task.purged"
        ? stored.before
        : null
  return {
    id: stored.id,
    position: stored.position,
    type: stored.type,
    task_id: stored.task_id,
    task_version: stored.task_version,
    occurred_at: stored.occurred_at,
    actor: stored.actor,
    task: whole,
    changes:
      whole === null && stored.before !== null && stored.after !== null
        ? changedFields(stored.before, stored.after)
        : {}
  }
}
