/**
 * The seam between the OpenAI runner's tool loop and the two APIs it can speak (Chat
 * Completions, Responses): what a dialect does, and what both share (the model request with
 * its failures in the port's terms, and the transcript's tool results and history ids).
 */
import { AgentError, type Message, type ToolOutcome } from "@taskport/core"
import { Effect } from "effect"
import type OpenAI from "openai"
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai"
import type { OfferedTool } from "./OpenAiTools.ts"

export interface RawCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

export interface Step {
  readonly text: string
  readonly calls: ReadonlyArray<RawCall>
  /** The tokens of this model request, when the server reported them. */
  readonly usage?: { readonly input: number; readonly output: number } | undefined
}

/** Token counts as a server reported them: only non-negative integers are taken. */
export const reportedUsage = (input: unknown, output: unknown): Step["usage"] => {
  const count = (value: unknown) =>
    typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0
  return input === undefined && output === undefined
    ? undefined
    : { input: count(input), output: count(output) }
}

/** One way of talking to the model: it keeps the transcript and produces the next step. */
export interface Dialect {
  readonly step: (say: (text: string) => Effect.Effect<void>) => Effect.Effect<Step, AgentError>
  readonly addStep: (step: Step) => void
  readonly addResult: (call: RawCall, content: string) => void
}

const retryAfterSeconds = (headers: Headers | undefined): number | undefined => {
  const millis = Number(headers?.get("retry-after-ms") ?? Number.NaN)
  if (Number.isFinite(millis) && millis >= 0) return Math.ceil(millis / 1000)
  const value = headers?.get("retry-after")
  if (value === null || value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

const withRetry = (reason: AgentError["reason"], seconds: number | undefined) =>
  new AgentError(seconds === undefined ? { reason } : { reason, retryAfterSeconds: seconds })

/** The client's failures in the port's terms; anything unrecognised is an unusable answer. */
export const toAgentError = (error: unknown): AgentError => {
  if (error instanceof AgentError) return error
  if (error instanceof APIConnectionTimeoutError) return new AgentError({ reason: "model_timeout" })
  if (error instanceof APIConnectionError) return new AgentError({ reason: "model_unavailable" })
  if (error instanceof APIError) {
    const seconds = retryAfterSeconds(error.headers)
    if (error.status === undefined) return withRetry("invalid_model_response", seconds)
    if (error.status === 408 || error.status === 504) return withRetry("model_timeout", seconds)
    return withRetry("model_unavailable", seconds)
  }
  return new AgentError({ reason: "invalid_model_response" })
}

/** Logs why the model failed (status and kind only: no key, no prompt) and keeps the typed error. */
export const logFailure = (error: unknown) =>
  Effect.logWarning("model request failed").pipe(
    Effect.annotateLogs({
      kind: error instanceof Error ? error.constructor.name : typeof error,
      status: error instanceof APIError ? String(error.status) : "none"
    })
  )

export const request = <A>(send: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, AgentError> =>
  Effect.tryPromise({ try: send, catch: (error) => error }).pipe(
    Effect.tapError(logFailure),
    Effect.mapError(toAgentError),
    // No stack trace per request: the span's name already says where it ran.
    Effect.withSpan("OpenAiAgentRunner.modelRequest", undefined, { captureStackTrace: false })
  )

/**
 * A tool result as the model sees it: JSON inside a `<tool_result>` element. `<` is escaped
 * so no text inside (a task title, say) can close the element and pose as instructions.
 */
export const wrapToolResult = (name: string, outcome: ToolOutcome): string =>
  `<tool_result name="${name.replace(/[^\w.-]/g, "_")}" status="${outcome.is_error ? "error" : "ok"}">\n${JSON.stringify(outcome.result ?? null).replace(/</g, "\\u003c")}\n</tool_result>`

/** Earlier tool call ids may repeat across turns (the offline runner numbers them per turn). */
export const historyCallId = (message: Message, id: string) => `m${message.id}_${id}`

export const argumentsText = (args: unknown) => (typeof args === "string" ? args : JSON.stringify(args ?? {}))

export const invalidResponse = () => new AgentError({ reason: "invalid_model_response" })

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

export interface Config {
  readonly client: OpenAI
  readonly model: string
  readonly prompt: string
  readonly streaming: boolean
  /** The turn's tools as the model is offered them. */
  readonly tools: ReadonlyArray<OfferedTool>
}
