/**
 * The Chat Completions dialect of the OpenAI runner: the transcript as chat messages (earlier
 * tool calls replayed as assistant calls and tool messages), one step per completion, plain
 * or streamed with tool-call arguments assembled from their chunks. The widest supported
 * API: OpenAI-compatible servers (Ollama, vLLM, LM Studio) speak it.
 *
 * Every step sends the whole transcript and every tool again, some 25 KB, and a turn takes
 * three or more steps. So the request body is written here rather than by the client: the
 * tools are serialised once for all turns, each message once when it joins the transcript,
 * and a step's body is those pieces joined (the same JSON the client would write).
 */
import type { AgentInput } from "@taskport/core"
import { Effect, Stream } from "effect"
import type { Stream as SseStream } from "openai/core/streaming"
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool
} from "openai/resources/chat/completions"
import {
  argumentsText,
  type Config,
  type Dialect,
  historyCallId,
  invalidResponse,
  isRecord,
  logFailure,
  reportedUsage,
  request,
  type Step,
  toAgentError,
  wrapToolResult
} from "./OpenAiDialect.ts"
import type { OfferedTool } from "./OpenAiTools.ts"

/** The tools' JSON, per list of offered tools (one list for every turn over the same source). */
const toolsJson = new WeakMap<ReadonlyArray<OfferedTool>, string>()

const toolsText = (offered: ReadonlyArray<OfferedTool>): string => {
  let text = toolsJson.get(offered)
  if (text === undefined) {
    const tools: Array<ChatCompletionTool> = offered.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        description: tool.description,
        parameters: tool.parameters,
        strict: tool.strict
      }
    }))
    text = JSON.stringify(tools)
    toolsJson.set(offered, text)
  }
  return text
}

const JSON_BODY = { "content-type": "application/json" }

export const chatDialect = (config: Config, input: AgentInput): Dialect => {
  // The transcript as JSON, one entry per message.
  const messages: Array<string> = []
  const push = (message: ChatCompletionMessageParam) => {
    messages.push(JSON.stringify(message))
  }
  push({ role: "system", content: config.prompt })
  for (const message of input.history) {
    if (message.role === "user") {
      push({ role: "user", content: message.content })
      continue
    }
    if (message.tool_calls.length > 0) {
      push({
        role: "assistant",
        content: null,
        tool_calls: message.tool_calls.map((call) => ({
          id: historyCallId(message, call.id),
          type: "function",
          function: { name: call.name, arguments: argumentsText(call.arguments) }
        }))
      })
      for (const call of message.tool_calls) {
        push({
          role: "tool",
          tool_call_id: historyCallId(message, call.id),
          content: wrapToolResult(call.name, call)
        })
      }
    }
    push({ role: "assistant", content: message.content })
  }
  push({ role: "user", content: input.message })

  const head = `{"model":${JSON.stringify(config.model)},"messages":[`
  const tail = `]${config.tools.length > 0 ? `,"tools":${toolsText(config.tools)}` : ""},"stream":`
  const body = (streaming: boolean): Buffer =>
    Buffer.from(
      `${head}${messages.join(",")}${tail}${streaming ? 'true,"stream_options":{"include_usage":true}}' : "false}"}`
    )

  const plainStep = (say: (text: string) => Effect.Effect<void>) =>
    Effect.gen(function* () {
      const response = yield* request((signal) =>
        config.client.post<ChatCompletion>("/chat/completions", {
          body: body(false),
          headers: JSON_BODY,
          signal
        })
      )
      const message =
        isRecord(response) && Array.isArray(response.choices) ? response.choices[0]?.message : undefined
      if (!isRecord(message)) return yield* invalidResponse()
      const text = message.content ?? message.refusal ?? ""
      yield* say(text)
      const calls = (message.tool_calls ?? []).flatMap((call) =>
        call.type === "function"
          ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments ?? "" }]
          : []
      )
      return {
        text,
        calls,
        usage: reportedUsage(response.usage?.prompt_tokens, response.usage?.completion_tokens)
      }
    })

  const streamedStep = (say: (text: string) => Effect.Effect<void>) =>
    Effect.gen(function* () {
      const chunks = yield* request((signal) =>
        config.client.post<SseStream<ChatCompletionChunk>>("/chat/completions", {
          body: body(true),
          headers: JSON_BODY,
          stream: true,
          signal
        })
      )
      let text = ""
      let usage: Step["usage"]
      const slots = new Map<number, { id: string; name: string; arguments: string }>()
      yield* Stream.fromAsyncIterable(chunks, (error) => error).pipe(
        Stream.tapError(logFailure),
        Stream.mapError(toAgentError),
        Stream.runForEach((chunk: ChatCompletionChunk) =>
          Effect.gen(function* () {
            if (!isRecord(chunk) || !Array.isArray(chunk.choices)) return yield* invalidResponse()
            // The usage arrives in a last chunk of its own, without choices.
            if (isRecord(chunk.usage)) {
              usage = reportedUsage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            }
            const delta = chunk.choices[0]?.delta
            if (delta === undefined) return
            if (typeof delta.content === "string" && delta.content !== "") {
              text += delta.content
              yield* say(delta.content)
            }
            for (const part of delta.tool_calls ?? []) {
              const slot = slots.get(part.index) ?? { id: "", name: "", arguments: "" }
              if (part.id) slot.id = part.id
              const name = part.function?.name
              // Some servers repeat the name in every chunk, OpenAI sends it once.
              if (name) slot.name = slot.name === "" || slot.name === name ? name : slot.name + name
              if (part.function?.arguments) slot.arguments += part.function.arguments
              slots.set(part.index, slot)
            }
          })
        )
      )
      const calls = [...slots.entries()]
        .sort(([a], [b]) => a - b)
        .map(([index, slot]) => ({ ...slot, id: slot.id === "" ? `call_${index}` : slot.id }))
      return { text, calls, usage }
    })

  return {
    step: config.streaming ? streamedStep : plainStep,
    addStep: (step) => {
      push({
        role: "assistant",
        content: step.text === "" ? null : step.text,
        tool_calls: step.calls.map((call) => ({
          id: call.id,
          type: "function",
          function: { name: call.name, arguments: call.arguments }
        }))
      })
    },
    addResult: (call, content) => {
      push({ role: "tool", tool_call_id: call.id, content })
    }
  }
}
