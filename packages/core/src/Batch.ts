/**
 * Batches: up to 25 task writes in one call, with one result per item, in order. Items are
 * independent by default: each is applied or refused on its own, so one stale or missing task
 * does not cost the others, and a retry (with an idempotency key) gets the same answers. With
 * `atomic: true` they are applied all or none, in one transaction.
 */
import { Schema } from "effect"
import { IdempotencyKey, omittable, Priority, TaskId, Title, Version } from "./Task.ts"

export const MAX_BATCH_ITEMS = 25

export const BatchOperation = Schema.Literals(["create", "update", "complete", "reopen", "delete", "restore"])
export type BatchOperation = typeof BatchOperation.Type

// An item sets a title and a priority; notes, due dates and tags are todo_update's. The
// single-task tools describe every field in full, and a batch tool repeating all of them
// would cost every client's context more than it is worth.
export const BatchItem = Schema.Struct({
  op: BatchOperation,
  id: omittable(TaskId.annotate({ description: "Required except for create." })),
  title: omittable(Title.annotate({ description: "Required for create." })),
  priority: omittable(Priority),
  expected_version: omittable(Version)
})
export type BatchItem = typeof BatchItem.Type

export const BatchParams = Schema.Struct({
  items: Schema.Array(BatchItem).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_BATCH_ITEMS)),
  atomic: omittable(
    Schema.Boolean.annotate({ description: "true: all or none (default: each item on its own)." })
  ),
  idempotency_key: omittable(IdempotencyKey)
})
export type BatchParams = typeof BatchParams.Type
export type BatchInput = typeof BatchParams.Encoded

export const BatchItemError = Schema.Struct({
  error: Schema.String,
  message: Schema.String
})
export type BatchItemError = typeof BatchItemError.Type

/**
 * What a batch result says of a written task: enough to name it and write to it again. The
 * whole task is a `todo_read` away; repeating its full schema here would cost every client's
 * context more than the rest of the batch tool.
 */
export const BatchTask = Schema.Struct({
  id: TaskId,
  title: Schema.String,
  completed: Schema.Boolean,
  version: Schema.Int
})
export type BatchTask = typeof BatchTask.Type

export const BatchItemResult = Schema.Struct({
  task: Schema.NullOr(BatchTask),
  failure: Schema.NullOr(BatchItemError)
})
export type BatchItemResult = typeof BatchItemResult.Type

export const BatchResult = Schema.Struct({
  results: Schema.Array(BatchItemResult).annotate({ description: "One per item, in order." }),
  applied: Schema.Int.annotate({ description: "How many items were applied." })
}).annotate({ identifier: "BatchResult", description: "The outcome of each item of a batch." })
export type BatchResult = typeof BatchResult.Type
