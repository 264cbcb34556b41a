/**
 * The `todo_*` tools as an agent's `ToolSource`: definitions derived from `TodoTools` (JSON
 * Schema and the Effect schema behind it) and calls run through `runTodoTool` for the
 * current user.
 */
import { Effect, type Schema } from "effect"
import { Tool } from "effect/ai"
import type { JsonSchemaObject, ToolDefinition, ToolOutcome, ToolSource } from "./AgentRunner.ts"
import type { CurrentUser } from "./CurrentUser.ts"
import { runTodoTool, type TodoToolHandlers, TodoTools, type ToolFailure } from "./TodoTools.ts"

/** The definitions of the `todo_*` tools, derived from `TodoTools`: they are the same for every user. */
export const todoToolDefinitions: ReadonlyArray<ToolDefinition> = Object.values(TodoTools.tools).map(
  (tool) => ({
    name: tool.name,
    description: Tool.getDescription(tool) ?? tool.name,
    parameters: Tool.getJsonSchema(tool) as JsonSchemaObject,
    parametersSchema: tool.parametersSchema as Schema.Codec<unknown, unknown>
  })
)

/** A tool failure in words for the model: what went wrong and, where it helps, what to do. */
export const describeToolFailure = (name: string, failure: ToolFailure): string => {
  switch (failure._tag) {
    case "InvalidParameters":
      return `Invalid arguments for ${name}: ${failure.message.replace(/\n\s*/g, "; ")}`
    case "UnknownTool":
      return `There is no tool named ${failure.name}`
    case "TaskNotFound":
      return `${failure.message}; list the tasks to find the right id`
    default:
      return failure.message
  }
}

/**
 * The `todo_*` tools bound to the current user. Every failure a tool can report (invalid
 * parameters, a missing task, a version conflict, the database) becomes an `is_error`
 * outcome with a readable message; only defects escape.
 */
export const todoToolSource: Effect.Effect<ToolSource, never, CurrentUser | TodoToolHandlers> = Effect.gen(
  function* () {
    const context = yield* Effect.context<CurrentUser | TodoToolHandlers>()
    const call = (name: string, args: unknown): Effect.Effect<ToolOutcome> =>
      runTodoTool(name, args).pipe(
        Effect.map((success): ToolOutcome => ({ result: success.encoded, is_error: false })),
        Effect.catch((failure: ToolFailure) =>
          Effect.succeed<ToolOutcome>({ result: describeToolFailure(name, failure), is_error: true })
        ),
        Effect.provideContext(context)
      )
    return { tools: todoToolDefinitions, call }
  }
)
