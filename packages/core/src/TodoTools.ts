/**
 * The single definition of every `todo_*` operation: name, title, description, parameter,
 * success and failure schemas, and behaviour hints. REST, MCP and the agent runners derive
 * their schemas from these tools and run them through the same handlers.
 */
import { Cause, Context, Effect, Exit, Layer, Option, Schema } from "effect"
import { Tool, Toolkit } from "effect/ai"
import { BatchParams, BatchResult } from "./Batch.ts"
import { CurrentUser } from "./CurrentUser.ts"
import {
  IdempotencyKeyInFlight,
  IdempotencyKeyReused,
  InvalidCursor,
  InvalidParameters,
  QuotaExceeded,
  RepositoryError,
  TaskNotFound,
  UnknownTool,
  VersionConflict
} from "./Errors.ts"
import { EventHistory, EventPage, HistoryParams } from "./EventHistory.ts"
import type { EventLog } from "./EventLog.ts"
import type { IdempotencyStore } from "./IdempotencyStore.ts"
import { type SettingsRepository, SettingsService } from "./Settings.ts"
import {
  CompleteTaskParams,
  CreateTaskParams,
  DeleteTaskParams,
  ListTasksParams,
  RestoreTaskParams,
  Task,
  TaskPage,
  TaskRef,
  UpdateTaskParams
} from "./Task.ts"
import type { TaskRepository } from "./TaskRepository.ts"
import { TodoService } from "./TodoService.ts"
import type { Transactor } from "./Transactor.ts"

interface Hints {
  readonly title: string
  readonly readOnly: boolean
  readonly destructive: boolean
  readonly idempotent: boolean
}

const hinted = <T extends Tool.Any>(tool: T, hints: Hints): T =>
  tool
    .annotate(Tool.Title, hints.title)
    .annotate(Tool.Readonly, hints.readOnly)
    .annotate(Tool.Destructive, hints.destructive)
    .annotate(Tool.Idempotent, hints.idempotent)
    .annotate(Tool.OpenWorld, false) as T

// Every use case decodes its own input, so invalid parameters are a failure of each tool.
const WriteFailure = Schema.Union([
  InvalidParameters,
  IdempotencyKeyReused,
  IdempotencyKeyInFlight,
  QuotaExceeded,
  RepositoryError
])
const NotFoundFailure = Schema.Union([InvalidParameters, TaskNotFound, RepositoryError])
const UpdateFailure = Schema.Union([
  InvalidParameters,
  TaskNotFound,
  VersionConflict,
  IdempotencyKeyReused,
  IdempotencyKeyInFlight,
  RepositoryError
])
const ListFailure = Schema.Union([InvalidParameters, InvalidCursor, RepositoryError])

export const todo_create = hinted(
  Tool.make("todo_create", {
    description: "Create a task for the user. Only the title is required; priority defaults to medium.",
    parameters: CreateTaskParams,
    success: Task,
    failure: WriteFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Create a task", readOnly: false, destructive: false, idempotent: false }
)

export const todo_read = hinted(
  Tool.make("todo_read", {
    description: "Read one of the user's tasks by its numeric id.",
    parameters: TaskRef,
    success: Task,
    failure: NotFoundFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Read a task", readOnly: true, destructive: false, idempotent: true }
)

export const todo_update = hinted(
  Tool.make("todo_update", {
    description:
      "Change some fields of a task; fields left out stay as they are. Pass expected_version to refuse the change if the task was modified meanwhile.",
    parameters: UpdateTaskParams,
    success: Task,
    failure: UpdateFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Update a task", readOnly: false, destructive: false, idempotent: false }
)

export const todo_delete = hinted(
  Tool.make("todo_delete", {
    description:
      "Move a task to the trash (undo: todo_restore), or with permanent: true remove a trashed task for good.",
    parameters: DeleteTaskParams,
    success: Task,
    failure: UpdateFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Delete a task", readOnly: false, destructive: true, idempotent: true }
)

export const todo_restore = hinted(
  Tool.make("todo_restore", {
    description: "Undo a delete: take a task out of the trash, as it was.",
    parameters: RestoreTaskParams,
    success: Task,
    failure: UpdateFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Restore a deleted task", readOnly: false, destructive: false, idempotent: true }
)

export const todo_list = hinted(
  Tool.make("todo_list", {
    description:
      "List the user's tasks, newest first by default, with optional filters, text search and sorting. Results are paged: pass next_cursor back as cursor for more.",
    parameters: ListTasksParams,
    success: TaskPage,
    failure: ListFailure,
    dependencies: [CurrentUser]
  }),
  { title: "List tasks", readOnly: true, destructive: false, idempotent: true }
)

export const todo_complete = hinted(
  Tool.make("todo_complete", {
    description:
      "Mark a task as done, or reopen it with completed: false. Repeating the call changes nothing.",
    parameters: CompleteTaskParams,
    success: Task,
    failure: UpdateFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Complete or reopen a task", readOnly: false, destructive: false, idempotent: true }
)

export const todo_batch = hinted(
  Tool.make("todo_batch", {
    description:
      "Up to 25 writes in one call, one result per item in order; independent unless atomic: true.",
    parameters: BatchParams,
    success: BatchResult,
    failure: WriteFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Several writes at once", readOnly: false, destructive: true, idempotent: false }
)

export const todo_history = hinted(
  Tool.make("todo_history", {
    description:
      "The user's task changes, newest first: what changed, when, via which surface (chat: yours). since inclusive, until exclusive.",
    parameters: HistoryParams,
    success: EventPage,
    failure: Schema.Union([InvalidParameters, InvalidCursor, TaskNotFound, RepositoryError]),
    dependencies: [CurrentUser]
  }),
  { title: "History of changes", readOnly: true, destructive: false, idempotent: true }
)

export const TodoTools = Toolkit.make(
  todo_create,
  todo_read,
  todo_update,
  todo_delete,
  todo_list,
  todo_complete,
  todo_restore,
  todo_batch,
  todo_history
)
export type TodoTools = typeof TodoTools
export type TodoToolName = keyof TodoTools["tools"]
export const todoToolNames = Object.keys(TodoTools.tools) as ReadonlyArray<TodoToolName>

/**
 * The handlers of every tool, bound to `TodoService`. Each passes its input on as it came:
 * the use case decodes it, so the tools and the library path share one decoding.
 */
const handlers = TodoTools.toLayer(
  Effect.gen(function* () {
    const todos = yield* TodoService
    const history = yield* EventHistory
    return TodoTools.of({
      todo_create: (params) => todos.create(params),
      todo_read: (params) => todos.read(params),
      todo_update: (params) => todos.update(params),
      todo_delete: (params) => todos.delete(params),
      todo_list: (params) => todos.list(params),
      todo_complete: (params) => todos.complete(params),
      todo_restore: (params) => todos.restore(params),
      todo_batch: (params) => todos.batch(params),
      todo_history: (params) => history.list(params)
    })
  })
)

/** The services that running the toolkit's handlers requires. */
export type TodoToolHandlers = Tool.HandlersFor<TodoTools["tools"]>

/** The tool handlers with the use cases behind them, over whichever `TaskRepository` is provided. */
export const TodoToolsLayer: Layer.Layer<
  TodoToolHandlers | TodoService | EventHistory | SettingsService,
  never,
  TaskRepository | IdempotencyStore | Transactor | SettingsRepository | EventLog
> = handlers.pipe(
  Layer.provideMerge(Layer.merge(TodoService.layer, EventHistory.layer)),
  Layer.provideMerge(SettingsService.layer)
)

export const isTodoToolName = (name: string): name is TodoToolName => Object.hasOwn(TodoTools.tools, name)

/** Why a tool call did not succeed, in the terms every adapter maps to its surface. */
export type ToolFailure =
  | InvalidParameters
  | InvalidCursor
  | UnknownTool
  | TaskNotFound
  | VersionConflict
  | IdempotencyKeyReused
  | IdempotencyKeyInFlight
  | QuotaExceeded
  | RepositoryError

/** A tool failure in words for a model or an MCP client: what went wrong and, where it helps, what to do. */
export const describeToolFailure = (name: string, failure: ToolFailure): string => {
  switch (failure._tag) {
    case "InvalidParameters":
    case "InvalidCursor":
    case "IdempotencyKeyReused":
      return `Invalid arguments for ${name}: ${failure.message}`
    case "TaskNotFound":
      return `${failure.message}; list the tasks to find the right id`
    default:
      return failure.message
  }
}

type ToolOf<N extends TodoToolName> = TodoTools["tools"][N]

/** A tool's typed result and the same result encoded to JSON-safe values, ready to send. */
export interface ToolSuccess<N extends TodoToolName = TodoToolName> {
  readonly value: Tool.Success<ToolOf<N>>
  readonly encoded: Tool.SuccessEncoded<ToolOf<N>>
}

const isToolFailure = (error: unknown): error is ToolFailure =>
  error instanceof InvalidParameters ||
  error instanceof InvalidCursor ||
  error instanceof TaskNotFound ||
  error instanceof VersionConflict ||
  error instanceof IdempotencyKeyReused ||
  error instanceof IdempotencyKeyInFlight ||
  error instanceof QuotaExceeded ||
  error instanceof RepositoryError

/** A tool's handler key and result encoder, built once per process. */
interface ToolCodecs {
  /** The key `TodoToolsLayer` registers the tool's handler under. */
  readonly handler: Context.Key<Tool.Handler<string>, Tool.Handler<string>>
  readonly encodeSuccess: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
}

const codecs: ReadonlyMap<string, ToolCodecs> = new Map(
  Object.values(TodoTools.tools).map((tool): [string, ToolCodecs] => [
    tool.name,
    {
      handler: Context.Service<Tool.Handler<string>>(tool.id),
      // The result is a typed value the handler got by decoding it (input or row), so its
      // checks already held; encoding only applies the transformations back to JSON.
      encodeSuccess: Schema.encodeUnknownExit(tool.successSchema as Schema.Codec<unknown, unknown>, {
        disableChecks: true
      })
    }
  ])
)

const callerUpdates = new WeakMap<
  Tool.Handler<string>,
  (caller: Context.Context<never>) => Context.Context<never>
>()

/**
 * As in the toolkit, the handler sees the services it was built with and, over them, the
 * caller's: what `Context.merge(registered.context, caller)` gives. Merging copies both
 * contexts on every call, though the caller's nearly always holds every one of the handler's
 * services already; only those it lacks are added here. Built once per handler.
 */
const underCaller = (registered: Tool.Handler<string>) => {
  const known = callerUpdates.get(registered)
  if (known !== undefined) return known
  const own = Array.from(
    registered.context.mapUnsafe,
    ([key, service]) => [Context.Service(key), service] as const
  )
  const update = (caller: Context.Context<never>): Context.Context<never> => {
    let context = caller
    for (const [key, service] of own) {
      if (Context.getOrUndefined(caller, key) === undefined) context = Context.add(context, key, service)
    }
    return context
  }
  callerUpdates.set(registered, update)
  return update
}

/**
 * The JSON Schema (2020-12) of a parameter schema as clients should write it: its JSON form,
 * with every object closed, since the use cases refuse keys they do not know.
 */
export const parametersJsonSchema = (schema: Schema.Top): Readonly<Record<string, unknown>> => {
  const document = Schema.toJsonSchemaDocument(schema as Schema.Codec<unknown, unknown>, {
    onExcessProperty: "error"
  })
  const definitions = Object.keys(document.definitions).length === 0 ? {} : { $defs: document.definitions }
  return { ...document.schema, ...definitions }
}

/**
 * The JSON Schema of each tool's parameters, derived once. Objects are closed
 * (`additionalProperties: false`), as the use cases refuse unknown keys: clients such as
 * OpenAI's strict mode need closed objects to call a tool at all.
 */
export const todoToolParameterSchemas: { readonly [N in TodoToolName]: Readonly<Record<string, unknown>> } =
  Object.fromEntries(
    Object.values(TodoTools.tools).map((tool) => [tool.name, parametersJsonSchema(tool.parametersSchema)])
  ) as { readonly [N in TodoToolName]: Readonly<Record<string, unknown>> }

/**
 * Runs one `todo_*` tool with encoded (JSON) parameters for the current user and returns its
 * typed result. Known failures arrive typed in the error channel; anything else is a defect.
 *
 * It runs what `Toolkit.handle` runs for a tool whose handler yields one result (call the
 * handler registered by `TodoToolsLayer`, whose use case decodes the parameters, then encode
 * the success with the tool's schema) without its per-call machinery: resolving the toolkit
 * derives every codec again, and the result travels through a forked fiber, a queue and a
 * stream. That machinery cost more than the database round trip of a read.
 */
export function runTodoTool<N extends TodoToolName>(
  name: N,
  params: unknown
): Effect.Effect<ToolSuccess<N>, ToolFailure, CurrentUser | TodoToolHandlers>
export function runTodoTool(
  name: string,
  params: unknown
): Effect.Effect<ToolSuccess, ToolFailure, CurrentUser | TodoToolHandlers>
export function runTodoTool(
  name: string,
  params: unknown
): Effect.Effect<ToolSuccess, ToolFailure, CurrentUser | TodoToolHandlers> {
  return Effect.gen(function* () {
    const tool = isTodoToolName(name) ? codecs.get(name) : undefined
    if (tool === undefined) return yield* new UnknownTool({ name })
    const context = yield* Effect.context<TodoToolHandlers>()
    const registered = Context.getOrUndefined(context, tool.handler)
    if (registered === undefined) return yield* Effect.die(new Error(`no handler is registered for ${name}`))
    const exit = yield* registered
      .handler(params, { toolCallId: undefined, preliminary: () => Effect.void })
      .pipe(Effect.updateContext(underCaller(registered)), Effect.exit)
    if (Exit.isSuccess(exit)) {
      const encoded = tool.encodeSuccess(exit.value)
      if (Exit.isFailure(encoded)) return yield* Effect.die(Cause.squash(encoded.cause))
      return { value: exit.value, encoded: encoded.value } as ToolSuccess
    }
    const failure = Cause.findErrorOption(exit.cause).pipe(Option.filter(isToolFailure))
    if (Option.isSome(failure)) return yield* Effect.fail(failure.value)
    return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
  })
}
