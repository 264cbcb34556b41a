/**
 * The single definition of every `todo_*` operation: name, title, description, parameter,
 * success and failure schemas, and behaviour hints. REST, MCP and the agent runners derive
 * their schemas from these tools and run them through the same handlers.
 */
import { Cause, Context, Effect, Exit, Option, Schema } from "effect"
import { AiError, Tool, Toolkit } from "effect/ai"
import { CurrentUser } from "./CurrentUser.ts"
import { RepositoryError, TaskNotFound, VersionConflict } from "./Errors.ts"
import {
  CompleteTaskParams,
  CreateTaskParams,
  ListTasksParams,
  Task,
  TaskPage,
  TaskRef,
  UpdateTaskParams
} from "./Task.ts"
import { TodoService } from "./TodoService.ts"

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

const NotFoundFailure = Schema.Union([TaskNotFound, RepositoryError])
const UpdateFailure = Schema.Union([TaskNotFound, VersionConflict, RepositoryError])

export const todo_create = hinted(
  Tool.make("todo_create", {
    description: "Create a task for the user. Only the title is required; priority defaults to medium.",
    parameters: CreateTaskParams,
    success: Task,
    failure: RepositoryError,
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
    description: "Delete a task permanently. Returns the task as it was.",
    parameters: TaskRef,
    success: Task,
    failure: NotFoundFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Delete a task", readOnly: false, destructive: true, idempotent: true }
)

export const todo_list = hinted(
  Tool.make("todo_list", {
    description:
      "List the user's tasks, newest first by default, with optional filters, text search and sorting. Results are paged: pass next_cursor back as cursor for more.",
    parameters: ListTasksParams,
    success: TaskPage,
    failure: RepositoryError,
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
    failure: NotFoundFailure,
    dependencies: [CurrentUser]
  }),
  { title: "Complete or reopen a task", readOnly: false, destructive: false, idempotent: true }
)

export const TodoTools = Toolkit.make(
  todo_create,
  todo_read,
  todo_update,
  todo_delete,
  todo_list,
  todo_complete
)
export type TodoTools = typeof TodoTools
export type TodoToolName = keyof TodoTools["tools"]
export const todoToolNames = Object.keys(TodoTools.tools) as ReadonlyArray<TodoToolName>

/** The handlers of every tool, bound to `TodoService`. */
export const TodoToolsLayer = TodoTools.toLayer(
  Effect.gen(function* () {
    const todos = yield* TodoService
    return TodoTools.of({
      todo_create: (params) => todos.create(params),
      todo_read: (params) => todos.read(params.id),
      todo_update: (params) => todos.update(params),
      todo_delete: (params) => todos.delete(params.id),
      // A malformed cursor is bad input, so it is reported like any other parameter failure.
      todo_list: (params) =>
        todos.list(params).pipe(
          Effect.catchTag("SchemaError", (error) =>
            Effect.fail(
              AiError.make({
                module: "Toolkit",
                method: "todo_list.handle",
                reason: new AiError.ToolParameterValidationError({
                  toolName: "todo_list",
                  description: error.message
                })
              })
            )
          )
        ),
      todo_complete: (params) => todos.complete(params)
    })
  })
)

export const isTodoToolName = (name: string): name is TodoToolName => Object.hasOwn(TodoTools.tools, name)

/** Why a tool call did not succeed, in the terms every adapter maps to its surface. */
export type ToolFailure =
  | { readonly _tag: "InvalidParameters"; readonly message: string }
  | { readonly _tag: "UnknownTool"; readonly name: string }
  | TaskNotFound
  | VersionConflict
  | RepositoryError

export interface ToolSuccess {
  /** The typed result. */
  readonly value: unknown
  /** The result encoded to JSON-safe values, ready to send. */
  readonly encoded: unknown
}

const toToolFailure = (error: unknown): Option.Option<ToolFailure> => {
  if (AiError.isAiError(error)) {
    const reason = error.reason
    if (reason._tag === "ToolParameterValidationError") {
      return Option.some({
        _tag: "InvalidParameters",
        message: reason.description.replace(/^Invalid parameters for tool '[^']+': /, "")
      })
    }
    if (reason._tag === "ToolNotFoundError")
      return Option.some({ _tag: "UnknownTool", name: reason.toolName })
    return Option.none()
  }
  if (error instanceof TaskNotFound || error instanceof VersionConflict || error instanceof RepositoryError) {
    return Option.some(error)
  }
  return Option.none()
}

/** A tool's parameter decoder and result encoder, built once per process. */
interface ToolCodecs {
  readonly id: string
  readonly decodeParameters: (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encodeSuccess: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
}

const codecs: ReadonlyMap<string, ToolCodecs> = new Map(
  Object.values(TodoTools.tools).map((tool): [string, ToolCodecs] => [
    tool.name,
    {
      id: tool.id,
      decodeParameters: Schema.decodeUnknownExit(tool.parametersSchema as Schema.Codec<unknown, unknown>),
      // The result is a typed value the handler got by decoding it (input or row), so its
      // checks already held; encoding only applies the transformations back to JSON.
      encodeSuccess: Schema.encodeUnknownExit(tool.successSchema as Schema.Codec<unknown, unknown>, {
        disableChecks: true
      })
    }
  ])
)

/**
 * Runs one `todo_*` tool with encoded (JSON) parameters for the current user and returns its
 * final result. Known failures arrive typed in the error channel; anything else is a defect.
 *
 * It runs what `Toolkit.handle` runs for a tool whose handler yields one result (decode the
 * parameters with the tool's schema, call the handler registered by `TodoToolsLayer`, encode
 * the success with the tool's schema) without its per-call machinery: resolving the toolkit
 * derives every codec again, and the result travels through a forked fiber, a queue and a
 * stream. That machinery cost more than the database round trip of a read.
 */
export const runTodoTool = (
  name: string,
  params: unknown
): Effect.Effect<ToolSuccess, ToolFailure, CurrentUser | Tool.HandlersFor<TodoTools["tools"]>> =>
  Effect.gen(function* () {
    const tool = isTodoToolName(name) ? codecs.get(name) : undefined
    if (tool === undefined) return yield* Effect.fail({ _tag: "UnknownTool", name } as const)
    const decoded = tool.decodeParameters(params)
    if (Exit.isFailure(decoded)) {
      const error = Cause.findErrorOption(decoded.cause)
      return yield* Effect.fail({
        _tag: "InvalidParameters",
        message: Option.isSome(error) ? error.value.message : "invalid parameters"
      } as const)
    }
    const context = yield* Effect.context<Tool.HandlersFor<TodoTools["tools"]>>()
    const registered = context.mapUnsafe.get(tool.id) as Tool.Handler<string> | undefined
    if (registered === undefined) return yield* Effect.die(new Error(`no handler is registered for ${name}`))
    const exit = yield* registered
      .handler(decoded.value, { toolCallId: undefined, preliminary: () => Effect.void })
      .pipe(
        // As in the toolkit: the handler sees the services it was built with and the caller's.
        Effect.updateContext((input: Context.Context<never>) => Context.merge(registered.context, input)),
        Effect.exit
      )
    if (Exit.isSuccess(exit)) {
      const encoded = tool.encodeSuccess(exit.value)
      if (Exit.isFailure(encoded)) return yield* Effect.die(Cause.squash(encoded.cause))
      return { value: exit.value, encoded: encoded.value }
    }
    const failure = Cause.findErrorOption(exit.cause).pipe(Option.flatMap(toToolFailure))
    if (Option.isSome(failure)) return yield* Effect.fail(failure.value)
    return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
  })

/** The services that running the toolkit's handlers requires. */
export type TodoToolHandlers = Tool.HandlersFor<TodoTools["tools"]>
