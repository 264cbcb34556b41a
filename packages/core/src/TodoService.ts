/**
 * The todo use cases, each scoped to the `CurrentUser`. Parameters arrive already decoded
 * (by the toolkit or an adapter); this module applies defaults, resolves due moments and
 * pagination cursors, and turns repository outcomes into the typed errors of the core.
 */
import { Context, Effect, Layer, Option, Schema, SchemaIssue } from "effect"
import { CurrentUser } from "./CurrentUser.ts"
import { type RepositoryError, TaskNotFound, VersionConflict } from "./Errors.ts"
import {
  type CompleteTaskParams,
  type CreateTaskParams,
  DEFAULT_PAGE_LIMIT,
  defaultOrder,
  type ListTasksParams,
  parseDue,
  SortOrder,
  type Task,
  type TaskId,
  type TaskPage,
  TaskSort,
  type UpdateTaskParams
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

const invalidField = (field: string, message: string, input: unknown) =>
  new Schema.SchemaError(new SchemaIssue.Pointer([field], new SchemaIssue.InvalidValue({ message }, input)))

/** Due values reaching the service were validated by the schema; this only re-derives the instant. */
const toStoredDue = (due: string | null): StoredDue | null =>
  due === null ? null : Option.getOrNull(parseDue(due))

const dueInstant = (due: string): number => Option.getOrThrow(parseDue(due)).epochMillis

export type TodoError = TaskNotFound | VersionConflict | RepositoryError

export interface TodoServiceShape {
  readonly create: (params: CreateTaskParams) => Effect.Effect<Task, RepositoryError, CurrentUser>
  readonly read: (id: TaskId) => Effect.Effect<Task, TaskNotFound | RepositoryError, CurrentUser>
  readonly update: (params: UpdateTaskParams) => Effect.Effect<Task, TodoError, CurrentUser>
  readonly delete: (id: TaskId) => Effect.Effect<Task, TaskNotFound | RepositoryError, CurrentUser>
  readonly complete: (
    params: CompleteTaskParams
  ) => Effect.Effect<Task, TaskNotFound | RepositoryError, CurrentUser>
  readonly list: (
    params: ListTasksParams
  ) => Effect.Effect<TaskPage, RepositoryError | Schema.SchemaError, CurrentUser>
}

const orNotFound = (id: TaskId) =>
  Effect.flatMap(
    Option.match({
      onNone: () => Effect.fail(new TaskNotFound({ id })),
      onSome: (task: Task) => Effect.succeed(task)
    })
  )

const make = Effect.gen(function* () {
  const repo = yield* TaskRepository

  const create: TodoServiceShape["create"] = Effect.fn("TodoService.create")(function* (params) {
    const user = yield* CurrentUser
    return yield* repo.insert(user.id, {
      title: params.title,
      description: params.description || null,
      priority: params.priority ?? "medium",
      due: toStoredDue(params.due ?? null),
      tags: params.tags ?? []
    })
  })

  const read: TodoServiceShape["read"] = Effect.fn("TodoService.read")(function* (id) {
    const user = yield* CurrentUser
    return yield* repo.find(user.id, id).pipe(orNotFound(id))
  })

  const update: TodoServiceShape["update"] = Effect.fn("TodoService.update")(function* (params) {
    const user = yield* CurrentUser
    const patch: { -readonly [K in keyof TaskPatch]: TaskPatch[K] } = {}
    if (params.title !== undefined) patch.title = params.title
    if (params.description !== undefined) patch.description = params.description || null
    if (params.priority !== undefined) patch.priority = params.priority
    if (params.due !== undefined) patch.due = toStoredDue(params.due)
    if (params.tags !== undefined) patch.tags = params.tags
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

  const remove: TodoServiceShape["delete"] = Effect.fn("TodoService.delete")(function* (id) {
    const user = yield* CurrentUser
    return yield* repo.delete(user.id, id).pipe(orNotFound(id))
  })

  const complete: TodoServiceShape["complete"] = Effect.fn("TodoService.complete")(function* (params) {
    const user = yield* CurrentUser
    return yield* repo.setCompleted(user.id, params.id, params.completed ?? true).pipe(orNotFound(params.id))
  })

  const list: TodoServiceShape["list"] = Effect.fn("TodoService.list")(function* (params) {
    const user = yield* CurrentUser
    const sort = params.sort ?? "created_at"
    const order = params.order ?? defaultOrder(sort)
    let after: KeysetPosition | undefined
    if (params.cursor !== undefined) {
      const cursor = decodeCursor(params.cursor)
      if (Option.isNone(cursor) || cursor.value.s !== sort || cursor.value.o !== order) {
        return yield* invalidField(
          "cursor",
          "is not a next_cursor from a listing with the same sort and order",
          params.cursor
        )
      }
      after = { key: cursor.value.k, id: cursor.value.i }
    }
    const query: { -readonly [K in keyof TaskQuery]: TaskQuery[K] } = {
      status: params.status ?? "all",
      sort,
      order,
      limit: params.limit ?? DEFAULT_PAGE_LIMIT
    }
    if (params.priority !== undefined) query.priority = params.priority
    if (params.tag !== undefined) query.tag = params.tag
    if (params.due_before !== undefined) query.dueBefore = dueInstant(params.due_before)
    if (params.due_after !== undefined) query.dueAfter = dueInstant(params.due_after)
    if (params.query !== undefined) query.text = params.query
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
  static readonly layer: Layer.Layer<TodoService, never, TaskRepository> = Layer.effect(this, make)
}
