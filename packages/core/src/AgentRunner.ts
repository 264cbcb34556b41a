/**
 * The agent port. An agent answers one user message in the light of the conversation's
 * recent messages, calling the tools of a `ToolSource` on the way. The chat use case depends
 * on this port only; the OpenAI and offline adapters live in `@taskport/agent`.
 */
import { Context, Effect, Option, Schema, Stream } from "effect"
import type { Message, TokenUsage, ToolCall } from "./Conversation.ts"
import type { LocalNow } from "./LocalNow.ts"

/** A JSON Schema document as plain JSON. */
export type JsonSchemaObject = { readonly [key: string]: unknown }

export interface ToolDefinition {
  readonly name: string
  readonly description: string
  /** JSON Schema (draft 2020-12) of the arguments `ToolSource.call` accepts; an object at the root. */
  readonly parameters: JsonSchemaObject
  /**
   * The schema `call` decodes the arguments with, when the source has one in Effect. An
   * adapter that offers the tool in another dialect derives it from this rather than from
   * `parameters`, so every limit of the tool (lengths, ranges, patterns) stays enforced.
   */
  readonly parametersSchema?: Schema.Codec<unknown, unknown> | undefined
}

/** What a tool call produced. A failed call is a result too, with a message the model can act on. */
export interface ToolOutcome {
  readonly result: unknown
  readonly is_error: boolean
}

/**
 * The tools an agent may call during one turn, already bound to the user the turn is for.
 * `call` never fails: invalid arguments, a missing task or an unreachable tool server come
 * back as `is_error` outcomes, so the model can explain or retry.
 */
export interface ToolSource {
  readonly tools: ReadonlyArray<ToolDefinition>
  /** `callId` is the model's id for the call, recorded with the changes it makes. */
  readonly call: (name: string, args: unknown, callId?: string) => Effect.Effect<ToolOutcome>
}

export interface AgentInput {
  /** The conversation's recent messages, oldest first, with their tool calls and results. */
  readonly history: ReadonlyArray<Message>
  /** The new user message. */
  readonly message: string
  readonly tools: ToolSource
  /** The user's present, in their zone; absent when the caller does not know it. */
  readonly now?: LocalNow | undefined
}

export interface AgentReply {
  readonly content: string
  readonly tool_calls: ReadonlyArray<ToolCall>
  /** The model tokens of the whole turn, every step together; absent means none were used. */
  readonly usage?: TokenUsage | undefined
}

export interface PendingToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: unknown
}

/** What a streamed turn reports as it happens; `done` comes last and carries the whole reply. */
export type AgentEvent =
  | { readonly type: "delta"; readonly text: string }
  | { readonly type: "tool_call"; readonly call: PendingToolCall }
  | { readonly type: "tool_result"; readonly call: ToolCall }
  | { readonly type: "done"; readonly reply: AgentReply }

export const AgentErrorReason = Schema.Literals([
  "model_unavailable",
  "model_timeout",
  "invalid_model_response"
])
export type AgentErrorReason = typeof AgentErrorReason.Type

/**
 * The model could not produce a turn. Tool failures are never this: they go back to the
 * model. The message is written for end users and names no server, key or cause.
 */
export class AgentError extends Schema.TaggedError<AgentError>()("AgentError", {
  reason: AgentErrorReason,
  retryAfterSeconds: Schema.optionalKey(Schema.Number)
}) {
  override get message(): string {
    switch (this.reason) {
      case "model_timeout":
        return "The AI model did not answer in time; try again shortly"
      case "invalid_model_response":
        return "The AI model sent an answer that could not be understood; try again"
      default:
        return "The AI model is unavailable right now; try again shortly"
    }
  }
}

export interface AgentRunnerShape {
  readonly run: (input: AgentInput) => Effect.Effect<AgentReply, AgentError>
  readonly stream: (input: AgentInput) => Stream.Stream<AgentEvent, AgentError>
}

export class AgentRunner extends Context.Service<AgentRunner, AgentRunnerShape>()(
  "@taskport/core/AgentRunner"
) {}

/** The final reply of a streamed turn, for runners whose `run` is their `stream` collected. */
export const replyOf = (
  events: Stream.Stream<AgentEvent, AgentError>
): Effect.Effect<AgentReply, AgentError> =>
  events.pipe(
    Stream.filter((event) => event.type === "done"),
    Stream.runHead,
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.fail(new AgentError({ reason: "invalid_model_response" })),
        onSome: (event) => Effect.succeed(event.reply)
      })
    )
  )
