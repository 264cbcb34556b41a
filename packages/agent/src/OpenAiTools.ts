/**
 * A turn's tools as both OpenAI dialects offer them: in strict mode wherever the tool's
 * parameters have a strict form (derived here, the tool source knows nothing of OpenAI), as
 * they are otherwise; and the way back, from a call the model wrote to a call on the source,
 * where every problem with the arguments becomes a tool error the model can correct.
 */
import type { JsonSchemaObject, ToolOutcome, ToolSource } from "@taskport/core"
import { Effect } from "effect"
import type { RawCall } from "./OpenAiDialect.ts"
import { type InvalidToolArguments, strictVariant } from "./StrictParameters.ts"
import type { ToolRecorder } from "./TurnEvents.ts"

export interface OfferedTool {
  readonly name: string
  readonly description: string
  /** The parameters the model is given: the strict variant when `strict`. */
  readonly parameters: JsonSchemaObject
  readonly strict: boolean
  /** From arguments written against `parameters` to arguments for the source. */
  readonly toArguments: (args: unknown) => Effect.Effect<unknown, InvalidToolArguments>
}

// A source's tool list is read as fixed (a ReadonlyArray, usually one constant for every
// turn): its offer is derived once per list.
const offers = new WeakMap<ToolSource["tools"], ReadonlyArray<OfferedTool>>()

/** The source's tools for the model, strict where strict mode can express them. */
export const offeredTools = (source: ToolSource): ReadonlyArray<OfferedTool> => {
  let offered = offers.get(source.tools)
  if (offered === undefined) {
    offered = offerOf(source.tools)
    offers.set(source.tools, offered)
  }
  return offered
}

const offerOf = (tools: ToolSource["tools"]): ReadonlyArray<OfferedTool> =>
  tools.map((tool) => {
    const strict = strictVariant(tool)
    return strict === undefined
      ? {
          name: tool.name,
          description: tool.description,
          parameters: tool.parameters,
          strict: false,
          toArguments: Effect.succeed
        }
      : {
          name: tool.name,
          description: tool.description,
          parameters: strict.schema,
          strict: true,
          toArguments: strict.toArguments
        }
  })

/** Parses, checks and runs one tool call; every problem becomes a tool error for the model. */
export const handleCall = (
  recorder: ToolRecorder,
  tools: ReadonlyMap<string, OfferedTool>,
  call: RawCall
): Effect.Effect<ToolOutcome> => {
  const tool = tools.get(call.name)
  if (tool === undefined) {
    const names = [...tools.keys()].join(", ")
    return recorder.reject(
      call.id,
      call.name,
      call.arguments,
      `There is no tool named ${call.name}; use one of: ${names}`
    )
  }
  let parsed: unknown
  try {
    parsed = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments)
  } catch {
    return recorder.reject(
      call.id,
      call.name,
      call.arguments,
      "Invalid arguments: not valid JSON; send one JSON object matching the tool's parameters"
    )
  }
  return tool.toArguments(parsed).pipe(
    Effect.matchEffect({
      onFailure: (error) => recorder.reject(call.id, call.name, parsed, error.message),
      onSuccess: (args) => recorder.call(call.id, call.name, args)
    })
  )
}
