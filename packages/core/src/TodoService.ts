/**
 * The todo use cases, each scoped to the `CurrentUser`. Each decodes its own input with the
 * operation's schema (trimming, limits and defaults included), so the library path and every
 * surface store, return and list the same values; it then resolves due moments and
 * pagination cursors and turns repository outcomes into the typed errors of the core. A write
 * given an `idempotency_key` runs through the `IdempotencyStore`, in one transaction with its
 * record; every write honours `expected_version`.
 */
import { Clock, Context, Data, Effect, Layer, Option, Schema } from "effect"
import {
  type BatchInput,
  type BatchItem,
  type BatchItemError,
  type BatchItemResult,
  BatchParams,
  BatchResult
} from "./Batch.ts"
import { CurrentUser } from "./CurrentUser.ts"
import { isTaskIdKey, isTaskSortKey } from "./CursorKeys.ts"
import { dueWindow, localDate, momentMillis, startOfDate } from "./DueViews.ts"
import {
  InvalidCursor,
  InvalidParameters,
  type QuotaExceeded,
  type RepositoryError,
  TaskNotFound,
  VersionConflict
} from "./Errors.ts"
import { type IdempotencyFailure, IdempotencyStore, type RecordCodec } from "./IdempotencyStore.ts"
import { boundOf } from "./Quotas.ts"
import { nextOccurrence } from "./Recurrence.ts"
import { inputDecoder } from "./SchemaIssues.ts"
import { type SettingsRepository, SettingsService } from "./Settings.ts"
import {
  type CompleteTaskInput,
  CompleteTaskParams,
  type CreateTaskInput,
  CreateTaskParams,
  type DeleteTaskInput,
  DeleteTaskParams,
  defaultOrder,
  type ListTasksInput,
  ListTasksParams,
  parseDue,
  parseReminder,
  type RestoreTaskInput,
  RestoreTaskParams,
  remindAt,
  SortOrder,
  Task,
  type TaskPage,
  TaskRef,
  type TaskRefInput,
  TaskSort,
  type UpdateTaskInput,
  UpdateTaskParams
} from "./Task.ts"
import {
  type KeysetPosition,
  type StoredDue,
  type StoredReminder,
  type TaskPatch,
  type TaskQuery,
  TaskRepository,
  type UpdateOutcome
} from "./TaskRepository.ts"
import { Transactor } from "./Transactor.ts"

// The cursor is opaque to clients: base64url JSON carrying the sort it was made for and the
// keyset position of the last row served.
const CursorPayload = Schema.Struct({
  s: TaskSort,
  o: SortOrder,
  k: Schema.NullOr(Schema.Union([Schema.String, Schema.Number])),
  i: Schema.Int
})
const Cursor = Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(CursorPayload)))
const encodeCursor = Schema.encodeSync(Cursor)
const decodeCursor = Schema.decodeUnknownOption(Cursor)

const decoder = inputDecoder

const decodeCreate = decoder(CreateTaskParams)
const decodeRef = decoder(TaskRef)
const decodeUpdate = decoder(UpdateTaskParams)
const decodeComplete = decoder(CompleteTaskParams)
const decodeDelete = decoder(DeleteTaskParams)
const decodeRestore = decoder(RestoreTaskParams)
const decodeBatch = decoder(BatchParams)
const decodeList = decoder(ListTasksParams)

const recurrenceNeedsDue = new InvalidParameters({
  issues: [{ field: "recurrence", message: "needs a due to repeat from" }]
})

const reminderNeedsDue = new InvalidParameters({
  issues: [
    { field: "reminder", message: "counts from the due, and the task has none: set a due or an instant" }
  ]
})

/** Due values reaching the service were validated by the schema; this only re-derives the instant. */
const toStoredDue = (due: string | null): StoredDue | null =>
  due === null ? null : Option.getOrNull(parseDue(due))

const dueInstant = (due: string): number => Option.getOrThrow(parseDue(due)).epochMillis

export type TodoError =
  | InvalidParameters
  | TaskNotFound
  | VersionConflict
  | RepositoryError
  | IdempotencyFailure

/** A stored result: its JSON form, decoded back through the schema on replay. */
const recordOf = <S extends Schema.Codec<unknown, unknown>>(schema: S): RecordCodec<S["Type"]> => ({
  encode: Schema.encodeSync(schema),
  decode: Schema.decodeUnknownSync(schema)
})
const taskRecord: RecordCodec<Task> = recordOf(Task)
const batchRecord: RecordCodec<BatchResult> = recordOf(BatchResult)

/** An atomic batch with a failed item: raised to roll the transaction back, with the item results. */
class BatchRolledBack extends Data.TaggedError("BatchRolledBack")<{
  readonly results: ReadonlyArray<BatchItemResult>
}> {}

/** An item's failure as its result says it; field names are given from the batch's root. */
const itemError = (index: number, error: TodoError | QuotaExceeded): BatchItemError => {
  if (error._tag === "InvalidParameters") {
    const prefixed = new InvalidParameters({
      issues: error.issues.map((issue) => ({
        field: issue.field === "" ? `items.${index}` : `items.${index}.${issue.field}`,
        message: issue.message
      }))
    })
    return { error: error._tag, message: prefixed.message }
  }
  return { error: error._tag, message: error.message }
}

/**
 * The use cases take their input as a caller writes it (the schemas' encoded form): a plain
 * object, decoded and checked here.
 */
export interface TodoServiceShape {
  readonly create: (
    input: CreateTaskInput
  ) => Effect.Effect<
    Task,
    InvalidParameters | QuotaExceeded | RepositoryError | IdempotencyFailure,
    CurrentUser
  >
  readonly read: (
    input: TaskRefInput
  ) => Effect.Effect<Task, InvalidParameters | TaskNotFound | RepositoryError, CurrentUser>
  readonly update: (input: UpdateTaskInput) => Effect.Effect<Task, TodoError, CurrentUser>
  /** Moves a task to the trash, or with `permanent` removes a trashed one for good. */
  readonly delete: (input: DeleteTaskInput) => Effect.Effect<Task, TodoError, CurrentUser>
  /** Takes a task out of the trash: it comes back as it was, at version + 1. */
  readonly restore: (input: RestoreTaskInput) => Effect.Effect<Task, TodoError, CurrentUser>
  readonly complete: (input: CompleteTaskInput) => Effect.Effect<Task, TodoError, CurrentUser>
  /**
   * Up to 25 writes with one result each, in order. Independent by default: one item's
   * failure does not undo the others. `atomic` applies all or none.
   */
  readonly batch: (
    input: BatchInput
  ) => Effect.Effect<BatchResult, InvalidParameters | RepositoryError | IdempotencyFailure, CurrentUser>
  readonly list: (
    input: ListTasksInput
  ) => Effect.Effect<TaskPage, InvalidParameters | InvalidCursor | RepositoryError, CurrentUser>
}

const orNotFound = (id: Task["id"]) =>
  Effect.flatMap(
    Option.match({
      onNone: () => Effect.fail(new TaskNotFound({ id })),
      onSome: (task: Task) => Effect.succeed(task)
    })
  )

/** The typed error of a repository outcome other than success. */
const outcomeTask = (
  id: Task["id"],
  expected: number | undefined,
  outcome: UpdateOutcome
): Effect.Effect<Task, TaskNotFound | VersionConflict> => {
  switch (outcome._tag) {
    case "Updated":
      return Effect.succeed(outcome.task)
    case "NotFound":
      return Effect.fail(new TaskNotFound({ id }))
    case "Conflict":
      return Effect.fail(
        new VersionConflict({ id, expected_version: expected ?? 0, current_version: outcome.currentVersion })
      )
  }
}

const make = Effect.gen(function* () {
  const repo = yield* TaskRepository
  const store = yield* IdempotencyStore
  const transactor = yield* Transactor

  /**
   * Runs a write once per idempotency key. The fingerprint is the decoded parameters without
   * the key, so null and absent optional fields count as the same request.
   */
  const once = <E, A = Task>(
    operation: string,
    params: { readonly idempotency_key?: string },
    work: Effect.Effect<A, E, CurrentUser>,
    codec: RecordCodec<A> = taskRecord as unknown as RecordCodec<A>
  ): Effect.Effect<A, E | IdempotencyFailure, CurrentUser> =>
    Effect.gen(function* () {
      const { idempotency_key: key, ...rest } = params
      if (key === undefined) return yield* work
      const user = yield* CurrentUser
      return yield* store.run(
        {
          owner: user.id,
          key,
          fingerprint: `${operation} ${JSON.stringify(rest)}`,
          field: "idempotency_key"
        },
        work,
        codec
      )
    })
  /**
   * Each use case is one unit of work for its caller: with row-level security, the database
   * fences it once instead of once per call. A batch is not one: its items are independent
   * unless it asks to be atomic, so each item is a unit of its own.
   */
  const unit =
    <I, A, E>(useCase: (input: I) => Effect.Effect<A, E, CurrentUser>) =>
    (input: I): Effect.Effect<A, E | RepositoryError, CurrentUser> =>
      Effect.flatMap(CurrentUser, (user) => transactor.forOwner(user.id)(useCase(input)))

  const settings = yield* SettingsService
  // Optional: without quotas in the context, nothing is bounded.
  const taskBound = yield* boundOf("tasks_per_user")

  /**
   * A reminder as stored for a task due `due`: an instant as it is, a duration from the due
   * counted from the due's instant, or for a date-only due from the day's start in the
   * account's time zone.
   */
  const storedReminder = (
    text: string,
    due: string | null
  ): Effect.Effect<StoredReminder, InvalidParameters | RepositoryError, CurrentUser> =>
    Effect.gen(function* () {
      const spec = Option.getOrThrow(parseReminder(text))
      if (spec._tag === "At") return { text: spec.text, atMillis: spec.epochMillis }
      if (due === null) return yield* reminderNeedsDue
      const start = due.length === 10 ? startOfDate(due, (yield* settings.effective).zone) : dueInstant(due)
      return { text: spec.text, atMillis: remindAt(spec, start) ?? start }
    })

  const create: TodoServiceShape["create"] = Effect.fn("TodoService.create")(function* (input) {
    const params = yield* decodeCreate(input)
    if (params.recurrence !== null && params.due === null) return yield* recurrenceNeedsDue
    const reminder = params.reminder === null ? null : yield* storedReminder(params.reminder, params.due)
    const user = yield* CurrentUser
    return yield* once(
      "todo_create",
      params,
      repo.insertWithin(
        user.id,
        {
          title: params.title,
          description: params.description,
          priority: params.priority,
          due: toStoredDue(params.due),
          tags: params.tags,
          ...(params.recurrence === null ? {} : { recurrence: params.recurrence }),
          ...(reminder === null ? {} : { reminder })
        },
        taskBound
      )
    )
  })

  const read: TodoServiceShape["read"] = Effect.fn("TodoService.read")(function* (input) {
    const { id } = yield* decodeRef(input)
    const user = yield* CurrentUser
    return yield* repo.find(user.id, id).pipe(orNotFound(id))
  })

  const update: TodoServiceShape["update"] = Effect.fn("TodoService.update")(function* (input) {
    const params = yield* decodeUpdate(input)
    const user = yield* CurrentUser
    const patch: { -readonly [K in keyof TaskPatch]: TaskPatch[K] } = {}
    if (params.title !== undefined) patch.title = params.title
    if (params.description !== undefined) patch.description = params.description
    if (params.priority !== undefined) patch.priority = params.priority
    if (params.due !== undefined) patch.due = toStoredDue(params.due)
    if (params.tags !== undefined) patch.tags = params.tags
    if (params.recurrence !== undefined) patch.recurrence = params.recurrence
    // A rule without a due has nothing to repeat from, and a reminder counted from the due
    // follows it: the result of the change decides.
    if ((params.recurrence ?? null) !== null || params.due !== undefined || params.reminder !== undefined) {
      const current = yield* repo.find(user.id, params.id).pipe(orNotFound(params.id))
      const due = params.due === undefined ? current.due : params.due
      const recurrence = params.recurrence === undefined ? current.recurrence : params.recurrence
      if (recurrence !== null && due === null) return yield* recurrenceNeedsDue
      const reminder = params.reminder === undefined ? current.reminder : params.reminder
      if (reminder !== null) patch.reminder = yield* storedReminder(reminder, due)
      else if (params.reminder !== undefined) patch.reminder = null
    }
    const expected = params.expected_version
    return yield* once(
      "todo_update",
      params,
      Effect.flatMap(repo.update(user.id, params.id, patch, expected), (outcome) =>
        outcomeTask(params.id, expected, outcome)
      )
    )
  })

  const remove: TodoServiceShape["delete"] = Effect.fn("TodoService.delete")(function* (input) {
    const params = yield* decodeDelete(input)
    const user = yield* CurrentUser
    const expected = params.expected_version
    const write = params.permanent ? repo.purge : repo.delete
    return yield* once(
      "todo_delete",
      params,
      Effect.flatMap(write(user.id, params.id, expected), (outcome) =>
        outcomeTask(params.id, expected, outcome)
      )
    )
  })

  const restore: TodoServiceShape["restore"] = Effect.fn("TodoService.restore")(function* (input) {
    const params = yield* decodeRestore(input)
    const user = yield* CurrentUser
    const expected = params.expected_version
    return yield* once(
      "todo_restore",
      params,
      Effect.flatMap(repo.restore(user.id, params.id, expected), (outcome) =>
        outcomeTask(params.id, expected, outcome)
      )
    )
  })

  const complete: TodoServiceShape["complete"] = Effect.fn("TodoService.complete")(function* (input) {
    const params = yield* decodeComplete(input)
    const user = yield* CurrentUser
    const expected = params.expected_version
    return yield* once(
      "todo_complete",
      params,
      Effect.gen(function* () {
        const task = yield* repo.find(user.id, params.id).pipe(orNotFound(params.id))
        // A recurring task's completion takes more than one statement, so the precondition
        // is checked first; the statements themselves still refuse a task no longer open.
        if (expected !== undefined && task.version !== expected) {
          return yield* new VersionConflict({
            id: task.id,
            expected_version: expected,
            current_version: task.version
          })
        }
        const next = () =>
          Effect.gen(function* () {
            if (task.due === null || task.recurrence === null) return Option.none()
            // "Next" is decided in the user's today, so a task days overdue moves to one still ahead.
            const { zone } = yield* settings.effective
            const now = yield* Clock.currentTimeMillis
            return nextOccurrence(task.due, task.recurrence, localDate(now, zone), now)
          })
        if (params.skip === true) {
          const refuse = (message: string) => new InvalidParameters({ issues: [{ field: "skip", message }] })
          if (task.recurrence === null) return yield* refuse("applies only to a recurring task")
          if (task.completed) return yield* refuse("applies only to an open task")
          const occurrence = yield* next()
          if (Option.isNone(occurrence))
            return yield* refuse("the series has no later occurrence; complete or delete the task")
          const outcome = yield* repo.update(
            user.id,
            task.id,
            {
              due: toStoredDue(occurrence.value.due),
              recurrence: occurrence.value.recurrence,
              ...(task.reminder === null
                ? {}
                : { reminder: yield* storedReminder(task.reminder, occurrence.value.due) })
            },
            task.version
          )
          return yield* outcomeTask(task.id, task.version, outcome)
        }
        if (params.completed && !task.completed) {
          const occurrence = yield* next()
          if (Option.isSome(occurrence)) {
            // A reminder counted from the due comes again for the next occurrence; one at an
            // instant belonged to this one.
            const reminder =
              task.reminder !== null &&
              Option.exists(parseReminder(task.reminder), (r) => r._tag === "FromDue")
                ? yield* storedReminder(task.reminder, occurrence.value.due)
                : null
            // The completed task stays as the record of this occurrence; the next is a new task.
            return yield* repo
              .completeOccurrence(user.id, task.id, {
                title: task.title,
                description: task.description,
                priority: task.priority,
                due: toStoredDue(occurrence.value.due),
                tags: task.tags,
                recurrence: occurrence.value.recurrence,
                reminder
              })
              .pipe(orNotFound(task.id))
          }
        }
        if (!params.completed && task.next_occurrence_id !== null) {
          return yield* repo.reopenOccurrence(user.id, task.id).pipe(orNotFound(task.id))
        }
        return yield* Effect.flatMap(
          repo.setCompleted(user.id, params.id, params.completed, expected),
          (outcome) => outcomeTask(params.id, expected, outcome)
        )
      })
    )
  })

  const list: TodoServiceShape["list"] = Effect.fn("TodoService.list")(function* (input) {
    const params = yield* decodeList(input)
    if (params.due_within_days !== undefined && params.due !== "upcoming") {
      return yield* new InvalidParameters({
        issues: [{ field: "due_within_days", message: "applies only with due=upcoming" }]
      })
    }
    const user = yield* CurrentUser
    const sort = params.sort
    const order = params.order ?? defaultOrder(sort)
    let after: KeysetPosition | undefined
    if (params.cursor !== undefined) {
      const cursor = decodeCursor(params.cursor)
      if (
        Option.isNone(cursor) ||
        cursor.value.s !== sort ||
        cursor.value.o !== order ||
        !isTaskIdKey(cursor.value.i) ||
        !isTaskSortKey(sort, cursor.value.k)
      ) {
        return yield* new InvalidCursor()
      }
      after = { key: cursor.value.k, id: cursor.value.i }
    }
    const query: { -readonly [K in keyof TaskQuery]: TaskQuery[K] } = {
      status: params.status,
      sort,
      order,
      limit: params.limit
    }
    if (params.priority !== undefined) query.priority = params.priority
    if (params.tag !== undefined) query.tag = params.tag
    if (params.due_before !== undefined) query.dueBefore = dueInstant(params.due_before)
    if (params.due_after !== undefined) query.dueAfter = dueInstant(params.due_after)
    if (params.query !== undefined) query.text = params.query
    if (
      params.due !== undefined ||
      params.completed_after !== undefined ||
      params.completed_before !== undefined
    ) {
      // Views and date-only moments are read in the user's zone, at the clock's present.
      const { zone } = yield* settings.effective
      const now = yield* Clock.currentTimeMillis
      if (params.due === "none") query.dueNone = true
      else if (params.due !== undefined) {
        query.dueWindow = dueWindow(params.due, now, zone, params.due_within_days)
      }
      if (params.completed_after !== undefined)
        query.completedFrom = momentMillis(params.completed_after, zone)
      if (params.completed_before !== undefined)
        query.completedBefore = momentMillis(params.completed_before, zone)
    }
    if (after !== undefined) query.after = after
    const slice = yield* repo.list(user.id, query)
    return {
      items: slice.items,
      next_cursor: Option.match(slice.next, {
        onNone: () => null,
        onSome: (position) => encodeCursor({ s: sort, o: order, k: position.key, i: position.id })
      })
    }
  })

  /** One batch item through the single-task use case it names; its field names are the item's own. */
  const applyItem = (item: BatchItem): Effect.Effect<Task, TodoError | QuotaExceeded, CurrentUser> => {
    const { op, id, expected_version, title, ...fields } = item
    const version = expected_version === undefined ? {} : { expected_version }
    if (op === "create") {
      if (title === undefined) {
        return Effect.fail(
          new InvalidParameters({
            issues: [{ field: "title", message: "is required for create" }]
          })
        )
      }
      return unit(create)({ title, ...fields })
    }
    if (id === undefined) {
      return Effect.fail(
        new InvalidParameters({ issues: [{ field: "id", message: `is required for ${op}` }] })
      )
    }
    switch (op) {
      case "update":
        return unit(update)({ id, ...(title === undefined ? {} : { title }), ...fields, ...version })
      case "complete":
      case "reopen":
        return unit(complete)({ id, completed: op === "complete", ...version })
      case "delete":
        return unit(remove)({ id, ...version })
      case "restore":
        return unit(restore)({ id, ...version })
    }
  }

  const batch: TodoServiceShape["batch"] = Effect.fn("TodoService.batch")(function* (input) {
    const params = yield* decodeBatch(input)
    const results = Effect.forEach(params.items, (item, index) =>
      Effect.match(applyItem(item), {
        onFailure: (error): BatchItemResult => ({ task: null, failure: itemError(index, error) }),
        onSuccess: (task): BatchItemResult => ({
          task: { id: task.id, title: task.title, completed: task.completed, version: task.version },
          failure: null
        })
      })
    )
    const atomically = transactor
      .run(
        Effect.flatMap(results, (items) =>
          items.some((item) => item.failure !== null)
            ? Effect.fail(new BatchRolledBack({ results: items }))
            : Effect.succeed(items)
        )
      )
      .pipe(
        Effect.catchTag("BatchRolledBack", ({ results }) => {
          const failed = results.findIndex((item) => item.failure !== null)
          return Effect.succeed(
            results.map(
              (item): BatchItemResult =>
                item.failure === null
                  ? {
                      task: null,
                      failure: {
                        error: "NotApplied",
                        message: `Not applied: the batch is atomic and item ${failed} failed`
                      }
                    }
                  : item
            )
          )
        })
      )
    const work = Effect.map(params.atomic === true ? atomically : results, (items) => ({
      results: items,
      applied: items.filter((item) => item.task !== null).length
    }))
    return yield* once("todo_batch", params, work, batchRecord)
  })

  return TodoService.of({
    create: unit(create),
    read: unit(read),
    update: unit(update),
    delete: unit(remove),
    restore: unit(restore),
    complete: unit(complete),
    list: unit(list),
    batch
  })
})

export class TodoService extends Context.Service<TodoService, TodoServiceShape>()(
  "@taskport/core/TodoService"
) {
  /** The use cases over whichever `TaskRepository` is provided. */
  static readonly layer: Layer.Layer<
    TodoService,
    never,
    TaskRepository | IdempotencyStore | Transactor | SettingsRepository
  > = Layer.effect(this, make).pipe(Layer.provide(SettingsService.layer))
}
