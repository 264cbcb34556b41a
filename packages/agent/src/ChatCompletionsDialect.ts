/**
 * The Chat Completions dialect of the OpenAI runner: the transcript as chat messages (earlier
 * tool calls replayed as assistant calls and tool messages), one step per completion, plain
 * or streamed with tool-call arguments assembled from their chunks. The widest supported
 * API: OpenAI-compatible servers (Ollama, vLLM, LM Studio) speak it.
 */
import type { AgentInput } from "@taskport/core"
import { Effect, Stream } from "effect"
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
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

export const chatDialect = (config: Config, input: AgentInput): Dialect => {
  const messages: Array<ChatCompletionMessageParam> = [{ role: "system", content: config.prompt }]
  for (const message of input.history) {
    if (message.role === "user") {
      messages.push({ role: "user", content: message.content })
      continue
    }
    if (message.tool_calls.length > 0) {
      messages.push({
        role: "assistant",
        content: null,
        tool_calls: message.tool_calls.map((call) => ({
          id: historyCallId(message, call.id),
          type: "function",
          function: { name: call.name, arguments: argumentsText(call.arguments) }
        }))
      })
      for (const call of message.tool_calls) {
        messages.push({
          role: "tool",
          tool_call_id: historyCallId(message, call.id),
          content: wrapToolResult(call.name, call)
        })
      }
    }
    messages.push({ role: "assistant", content: message.content })
  }
  messages.push({ role: "user", content: input.message })

  const tools: Array<ChatCompletionTool> = config.tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      description: tool.description,
      parameters: { ...tool.parameters },
      strict: tool.strict
    }
  }))
  const body = (): ChatCompletionCreateParamsBase => ({
    model: config.model,
    messages,
    ...(tools.length > 0 ? { tools } : {})
  })

  const plainStep = (say: (text: string) => Effect.Effect<void>) =>
    Effect.gen(function* () {
      const response: ChatCompletion = yield* request((signal) =>
        config.client.chat.completions.create({ ...body(), stream: false }, { signal })
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
        config.client.chat.completions.create(
          { ...body(), stream: true, stream_options: { include_usage: true } },
          { signal }
        )
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
      messages.push({
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
      messages.push({ role: "tool", tool_call_id: call.id, content })
    }
  }
}
