/**
 * The `todo_*` tools as an agent's `ToolSource`: definitions derived from `TodoTools` (JSON
 * Schema and the Effect schema behind it) and calls run through `runTodoTool` for the
 * current user.
 */
import { Effect, type Schema } from "effect"
import { Tool } from "effect/ai"
import { CurrentActor } from "./Actor.ts"
import type { JsonSchemaObject, ToolDefinition, ToolOutcome, ToolSource } from "./AgentRunner.ts"
import type { CurrentUser } from "./CurrentUser.ts"
import {
  describeToolFailure,
  runTodoTool,
  type TodoToolHandlers,
  type TodoToolName,
  TodoTools,
  type ToolFailure,
  todoToolParameterSchemas
} from "./TodoTools.ts"

/** The definitions of the `todo_*` tools, derived from `TodoTools`: they are the same for every user. */
export const todoToolDefinitions: ReadonlyArray<ToolDefinition> = Object.values(TodoTools.tools).map(
  (tool) => ({
    name: tool.name,
    description: Tool.getDescription(tool) ?? tool.name,
    parameters: todoToolParameterSchemas[tool.name as TodoToolName] as JsonSchemaObject,
    parametersSchema: tool.parametersSchema as Schema.Codec<unknown, unknown>
  })
)

/**
 * The `todo_*` tools bound to the current user. Every failure a tool can report (invalid
 * parameters, a missing task, a version conflict, the database) becomes an `is_error`
 * outcome with a readable message; only defects escape.
 */
export const todoToolSource: Effect.Effect<ToolSource, never, CurrentUser | TodoToolHandlers> = Effect.gen(
  function* () {
    const context = yield* Effect.context<CurrentUser | TodoToolHandlers>()
    // The actor is the caller's at the time of the call (the chat service sets it per call),
    // not the one in the context captured here.
    const call = (name: string, args: unknown): Effect.Effect<ToolOutcome> =>
      Effect.flatMap(Effect.service(CurrentActor), (who) =>
        runTodoTool(name, args).pipe(
          Effect.map((success): ToolOutcome => ({ result: success.encoded, is_error: false })),
          Effect.catch((failure: ToolFailure) =>
            Effect.succeed<ToolOutcome>({ result: describeToolFailure(name, failure), is_error: true })
          ),
          Effect.provideService(CurrentActor, who),
          Effect.provideContext(context)
        )
      )
    return { tools: todoToolDefinitions, call }
  }
)
