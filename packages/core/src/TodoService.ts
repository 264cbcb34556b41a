/**
 * The todo use cases, each scoped to the `CurrentUser`. Each decodes its own input with the
 * operation's schema (trimming, limits and defaults included), so the library path and every
 * surface store, return and list the same values; it then resolves due moments and
 * pagination cursors and turns repository outcomes into the typed errors of the core.
 */
import { Clock, Context, Effect, Exit, Layer, Option, Schema } from "effect"
import { CurrentUser } from "./CurrentUser.ts"
import { dueWindow, localDate, momentMillis } from "./DueViews.ts"
import {
  InvalidCursor,
  InvalidParameters,
  type RepositoryError,
  TaskNotFound,
  VersionConflict
} from "./Errors.ts"
import { nextOccurrence } from "./Recurrence.ts"
import { invalidParameters } from "./SchemaIssues.ts"
import { type SettingsRepository, SettingsService } from "./Settings.ts"
import {
  type CompleteTaskInput,
  CompleteTaskParams,
  type CreateTaskInput,
  CreateTaskParams,
  defaultOrder,
  type ListTasksInput,
  ListTasksParams,
  parseDue,
  SortOrder,
  type Task,
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
  type TaskPatch,
  type TaskQuery,
  TaskRepository
} from "./TaskRepository.ts"

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

/**
 * A decoder built once per operation. Unknown keys are refused: a misspelt field silently
 * ignored would look like success to the caller.
 */
const decoder = <S extends Schema.Codec<unknown, unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownExit(schema, { errors: "all", onExcessProperty: "error" })
  return (input: unknown): Effect.Effect<S["Type"], InvalidParameters> => {
    const exit = decode(input)
    return Exit.isSuccess(exit)
      ? Effect.succeed(exit.value)
      : Effect.fail(invalidParameters(Option.getOrThrow(Exit.findErrorOption(exit))))
  }
}

const decodeCreate = decoder(CreateTaskParams)
const decodeRef = decoder(TaskRef)
const decodeUpdate = decoder(UpdateTaskParams)
const decodeComplete = decoder(CompleteTaskParams)
const decodeList = decoder(ListTasksParams)

const recurrenceNeedsDue = new InvalidParameters({
  issues: [{ field: "recurrence", message: "needs a due to repeat from" }]
})

/** Due values reaching the service were validated by the schema; this only re-derives the instant. */
const toStoredDue = (due: string | null): StoredDue | null =>
  due === null ? null : Option.getOrNull(parseDue(due))

const dueInstant = (due: string): number => Option.getOrThrow(parseDue(due)).epochMillis

export type TodoError = InvalidParameters | TaskNotFound | VersionConflict | RepositoryError

/**
 * The use cases take their input as a caller writes it (the schemas' encoded form): a plain
 * object, decoded and checked here.
 */
export interface TodoServiceShape {
  readonly create: (
    input: CreateTaskInput
  ) => Effect.Effect<Task, InvalidParameters | RepositoryError, CurrentUser>
  readonly read: (
    input: TaskRefInput
  ) => Effect.Effect<Task, InvalidParameters | TaskNotFound | RepositoryError, CurrentUser>
  readonly update: (input: UpdateTaskInput) => Effect.Effect<Task, TodoError, CurrentUser>
  readonly delete: (
    input: TaskRefInput
  ) => Effect.Effect<Task, InvalidParameters | TaskNotFound | RepositoryError, CurrentUser>
  readonly complete: (
    input: CompleteTaskInput
  ) => Effect.Effect<Task, InvalidParameters | TaskNotFound | RepositoryError, CurrentUser>
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

const make = Effect.gen(function* () {
  const repo = yield* TaskRepository
  const settings = yield* SettingsService

  const create: TodoServiceShape["create"] = Effect.fn("TodoService.create")(function* (input) {
    const params = yield* decodeCreate(input)
    if (params.recurrence !== null && params.due === null) return yield* recurrenceNeedsDue
    const user = yield* CurrentUser
    return yield* repo.insert(user.id, {
      title: params.title,
      description: params.description,
      priority: params.priority,
      due: toStoredDue(params.due),
      tags: params.tags,
      ...(params.recurrence === null ? {} : { recurrence: params.recurrence })
    })
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
    // A rule without a due has nothing to repeat from; the result of the change decides.
    if ((params.recurrence ?? null) !== null || params.due === null) {
      const current = yield* repo.find(user.id, params.id).pipe(orNotFound(params.id))
      const due = params.due === undefined ? current.due : params.due
      const recurrence = params.recurrence === undefined ? current.recurrence : params.recurrence
      if (recurrence !== null && due === null) return yield* recurrenceNeedsDue
    }
    const outcome = yield* repo.update(user.id, params.id, patch, params.expected_version)
    switch (outcome._tag) {
      case "Updated":
        return outcome.task
      case "NotFound":
        return yield* new TaskNotFound({ id: params.id })
      case "Conflict":
        return yield* new VersionConflict({
          id: params.id,
          expected_version: params.expected_version ?? 0,
          current_version: outcome.currentVersion
        })
    }
  })

  const remove: TodoServiceShape["delete"] = Effect.fn("TodoService.delete")(function* (input) {
    const { id } = yield* decodeRef(input)
    const user = yield* CurrentUser
    return yield* repo.delete(user.id, id).pipe(orNotFound(id))
  })

  const complete: TodoServiceShape["complete"] = Effect.fn("TodoService.complete")(function* (input) {
    const params = yield* decodeComplete(input)
    const user = yield* CurrentUser
    const task = yield* repo.find(user.id, params.id).pipe(orNotFound(params.id))
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
        { due: toStoredDue(occurrence.value.due), recurrence: occurrence.value.recurrence },
        task.version
      )
      return outcome._tag === "Updated" ? outcome.task : yield* new TaskNotFound({ id: task.id })
    }
    if (params.completed && !task.completed) {
      const occurrence = yield* next()
      if (Option.isSome(occurrence)) {
        // The completed task stays as the record of this occurrence; the next is a new task.
        return yield* repo
          .completeOccurrence(user.id, task.id, {
            title: task.title,
            description: task.description,
            priority: task.priority,
            due: toStoredDue(occurrence.value.due),
            tags: task.tags,
            recurrence: occurrence.value.recurrence
          })
          .pipe(orNotFound(task.id))
      }
    }
    if (!params.completed && task.next_occurrence_id !== null) {
      return yield* repo.reopenOccurrence(user.id, task.id).pipe(orNotFound(task.id))
    }
    return yield* repo.setCompleted(user.id, params.id, params.completed).pipe(orNotFound(params.id))
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
      if (Option.isNone(cursor) || cursor.value.s !== sort || cursor.value.o !== order) {
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

  return TodoService.of({ create, read, update, delete: remove, complete, list })
})

export class TodoService extends Context.Service<TodoService, TodoServiceShape>()(
  "@taskport/core/TodoService"
) {
  /** The use cases over whichever `TaskRepository` is provided. */
  static readonly layer: Layer.Layer<TodoService, never, TaskRepository | SettingsRepository> = Layer.effect(
    this,
    make
  ).pipe(Layer.provide(SettingsService.layer))
}
