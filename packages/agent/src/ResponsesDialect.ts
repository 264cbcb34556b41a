/**
 * The Responses API dialect of the OpenAI runner: the transcript as input items (earlier tool
 * calls replayed as function_call and function_call_output items), nothing stored at the
 * provider, one step per response, plain or streamed as typed events.
 */
import { AgentError, type AgentInput } from "@taskport/core"
import { Effect, Stream } from "effect"
import type {
  FunctionTool,
  Response as ModelResponse,
  ResponseCreateParamsBase,
  ResponseInputItem,
  ResponseStreamEvent
} from "openai/resources/responses/responses"
import {
  argumentsText,
  type Config,
  type Dialect,
  historyCallId,
  invalidResponse,
  isRecord,
  logFailure,
  type RawCall,
  reportedUsage,
  request,
  type Step,
  toAgentError,
  wrapToolResult
} from "./OpenAiDialect.ts"

export const responsesDialect = (config: Config, input: AgentInput): Dialect => {
  const items: Array<ResponseInputItem> = []
  for (const message of input.history) {
    if (message.role === "user") {
      items.push({ role: "user", content: message.content })
      continue
    }
    for (const call of message.tool_calls) {
      const callId = historyCallId(message, call.id)
      items.push({
        type: "function_call",
        call_id: callId,
        name: call.name,
        arguments: argumentsText(call.arguments)
      })
      items.push({ type: "function_call_output", call_id: callId, output: wrapToolResult(call.name, call) })
    }
    items.push({ role: "assistant", content: message.content })
  }
  items.push({ role: "user", content: input.message })

  const tools: Array<FunctionTool> = config.tools.map((tool) => ({
    type: "function",
    name: tool.name,
    description: tool.description,
    parameters: { ...tool.parameters },
    strict: tool.strict
  }))
  const body = (): ResponseCreateParamsBase => ({
    model: config.model,
    instructions: config.prompt,
    input: items,
    // Conversations live in Taskport's database; nothing needs to be kept at the provider.
    store: false,
    ...(tools.length > 0 ? { tools } : {})
  })

  const usageOf = (response: unknown): Step["usage"] =>
    isRecord(response) && isRecord(response.usage)
      ? reportedUsage(response.usage.input_tokens, response.usage.output_tokens)
      : undefined

  const fromResponse = (response: ModelResponse): Step | undefined => {
    if (!isRecord(response) || !Array.isArray(response.output)) return undefined
    let text = ""
    const calls: Array<RawCall> = []
    for (const item of response.output) {
      if (item.type === "function_call")
        calls.push({ id: item.call_id, name: item.name, arguments: item.arguments })
      if (item.type === "message") {
        for (const part of item.content) text += part.type === "output_text" ? part.text : part.refusal
      }
    }
    return { text, calls, usage: usageOf(response) }
  }

  const plainStep = (say: (text: string) => Effect.Effect<void>) =>
    Effect.gen(function* () {
      const response = yield* request((signal) =>
        config.client.responses.create({ ...body(), stream: false }, { signal })
      )
      const step = fromResponse(response)
      if (step === undefined) return yield* invalidResponse()
      yield* say(step.text)
      return step
    })

  const streamedStep = (say: (text: string) => Effect.Effect<void>) =>
    Effect.gen(function* () {
      const events = yield* request((signal) =>
        config.client.responses.create({ ...body(), stream: true }, { signal })
      )
      let text = ""
      const calls: Array<RawCall> = []
      let completed = false
      let usage: Step["usage"]
      yield* Stream.fromAsyncIterable(events, (error) => error).pipe(
        Stream.tapError(logFailure),
        Stream.mapError(toAgentError),
        Stream.runForEach((event: ResponseStreamEvent) =>
          Effect.gen(function* () {
            switch (event.type) {
              case "response.output_text.delta":
                text += event.delta
                return yield* say(event.delta)
              case "response.output_item.done":
                if (event.item.type === "function_call") {
                  calls.push({
                    id: event.item.call_id,
                    name: event.item.name,
                    arguments: event.item.arguments
                  })
                }
                return
              case "response.completed":
                completed = true
                usage = usageOf(event.response)
                return
              case "response.failed":
              case "response.incomplete":
              case "error":
                return yield* new AgentError({ reason: "model_unavailable" })
              default:
                return
            }
          })
        )
      )
      if (!completed) return yield* invalidResponse()
      return { text, calls, usage }
    })

  return {
    step: config.streaming ? streamedStep : plainStep,
    addStep: (step) => {
      if (step.text !== "") items.push({ role: "assistant", content: step.text })
      for (const call of step.calls) {
        items.push({ type: "function_call", call_id: call.id, name: call.name, arguments: call.arguments })
      }
    },
    addResult: (call, content) => {
      items.push({ type: "function_call_output", call_id: call.id, output: content })
    }
  }
}
