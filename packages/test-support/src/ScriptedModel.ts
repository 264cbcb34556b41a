/**
 * A scripted OpenAI-compatible model server on 127.0.0.1 (a real socket), so the agent runner
 * is tested end to end through the real `openai` client. It serves Chat Completions and the
 * Responses API, plain or streamed (SSE `data:` lines ending in `[DONE]`), follows a script
 * of steps (tool calls, replies, failures, silence, garbage), and records every request so a
 * test can check what the model was sent.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { todoToolDefinitions } from "@taskport/core"
import { Effect } from "effect"

export interface ScriptedCall {
  readonly name: string
  /** An object is sent as JSON; a string is sent as it is (to send broken JSON). */
  readonly arguments: unknown
  readonly id?: string
}

/** Tokens the scripted model reports for a step (none: no usage is reported). */
export interface ScriptedUsage {
  readonly input: number
  readonly output: number
}

export type ScriptStep =
  | {
      readonly toolCalls: ReadonlyArray<ScriptedCall>
      readonly text?: string
      readonly usage?: ScriptedUsage
    }
  | { readonly reply: string; readonly usage?: ScriptedUsage }
  | { readonly status: number; readonly retryAfter?: string }
  | { readonly hang: true }
  | { readonly garbage: string }

export interface RecordedRequest {
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Record<string, unknown>
}

export type Scripted = ScriptStep | ((request: RecordedRequest) => ScriptStep)

export interface ScriptedModel {
  /** The base URL to give the client, ending in /v1. */
  readonly baseURL: string
  /** Every request received, in order. */
  readonly requests: Array<RecordedRequest>
  /** Replaces the script; each request consumes one step. */
  readonly script: (steps: ReadonlyArray<Scripted>) => void
  readonly remaining: () => number
  readonly close: () => Promise<void>
}

type Json = Record<string, unknown>

const sse = (response: Http.ServerResponse) => {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  return (data: unknown, event?: string) =>
    response.write(`${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`)
}

const argumentsText = (args: unknown) => (typeof args === "string" ? args : JSON.stringify(args))

/** Splits a string in a few pieces, so streamed text and arguments arrive across chunks. */
const pieces = (text: string): Array<string> => {
  if (text.length < 4) return [text]
  const third = Math.ceil(text.length / 3)
  return [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)]
}

let counter = 0
const nextId = (prefix: string) => `${prefix}_${++counter}`

const chatUsage = (usage: ScriptedUsage | undefined) =>
  usage === undefined
    ? {}
    : {
        usage: {
          prompt_tokens: usage.input,
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.output
        }
      }

const chatCompletion = (
  model: string,
  step: Extract<ScriptStep, { toolCalls: unknown } | { reply: unknown }>
) => {
  const calls = "toolCalls" in step ? step.toolCalls : []
  const text = "reply" in step ? step.reply : (step.text ?? null)
  return {
    ...chatUsage(step.usage),
    id: nextId("chatcmpl"),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        finish_reason: calls.length > 0 ? "tool_calls" : "stop",
        logprobs: null,
        message: {
          role: "assistant",
          content: text,
          refusal: null,
          ...(calls.length > 0
            ? {
                tool_calls: calls.map((call) => ({
                  id: call.id ?? nextId("call"),
                  type: "function",
                  function: { name: call.name, arguments: argumentsText(call.arguments) }
                }))
              }
            : {})
        }
      }
    ]
  }
}

const streamChat = (
  response: Http.ServerResponse,
  model: string,
  step: Extract<ScriptStep, { toolCalls: unknown } | { reply: unknown }>,
  includeUsage: boolean
) => {
  const send = sse(response)
  const id = nextId("chatcmpl")
  const chunk = (delta: Json, finish: string | null = null) =>
    send({
      id,
      object: "chat.completion.chunk",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }]
    })
  chunk({ role: "assistant", content: "" })
  const text = "reply" in step ? step.reply : (step.text ?? "")
  if (text !== "") for (const piece of pieces(text)) chunk({ content: piece })
  const calls = "toolCalls" in step ? step.toolCalls : []
  calls.forEach((call, index) => {
    const [first, ...rest] = pieces(argumentsText(call.arguments))
    chunk({
      tool_calls: [
        {
          index,
          id: call.id ?? nextId("call"),
          type: "function",
          function: { name: call.name, arguments: first }
        }
      ]
    })
    for (const piece of rest) chunk({ tool_calls: [{ index, function: { arguments: piece } }] })
  })
  chunk({}, calls.length > 0 ? "tool_calls" : "stop")
  // As OpenAI does with stream_options.include_usage: one last chunk, without choices.
  if (step.usage !== undefined && includeUsage) {
    send({ id, object: "chat.completion.chunk", created: 0, model, choices: [], ...chatUsage(step.usage) })
  }
  response.end("data: [DONE]\n\n")
}

const responseOutput = (step: Extract<ScriptStep, { toolCalls: unknown } | { reply: unknown }>) => {
  const output: Array<Json> = []
  const text = "reply" in step ? step.reply : (step.text ?? "")
  if (text !== "") {
    output.push({
      type: "message",
      id: nextId("msg"),
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text, annotations: [] }]
    })
  }
  for (const call of "toolCalls" in step ? step.toolCalls : []) {
    output.push({
      type: "function_call",
      id: nextId("fc"),
      call_id: call.id ?? nextId("call"),
      name: call.name,
      arguments: argumentsText(call.arguments),
      status: "completed"
    })
  }
  return output
}

const responseObject = (model: string, output: Array<Json>, usage?: ScriptedUsage) => ({
  ...(usage === undefined
    ? {}
    : {
        usage: {
          input_tokens: usage.input,
          output_tokens: usage.output,
          total_tokens: usage.input + usage.output
        }
      }),
  id: nextId("resp"),
  object: "response",
  created_at: Math.floor(Date.now() / 1000),
  model,
  status: "completed",
  output,
  parallel_tool_calls: true,
  tool_choice: "auto",
  tools: []
})

const streamResponses = (
  response: Http.ServerResponse,
  model: string,
  step: Extract<ScriptStep, { toolCalls: unknown } | { reply: unknown }>
) => {
  const send = sse(response)
  const output = responseOutput(step)
  const whole = responseObject(model, output, step.usage)
  let sequence = 0
  const event = (type: string, data: Json) => send({ type, sequence_number: sequence++, ...data }, type)
  event("response.created", { response: { ...whole, status: "in_progress", output: [] } })
  output.forEach((item, index) => {
    if (item.type === "message") {
      const text = ((item.content as Array<Json>)[0]?.text as string) ?? ""
      for (const piece of pieces(text)) {
        event("response.output_text.delta", {
          item_id: item.id,
          output_index: index,
          content_index: 0,
          delta: piece,
          logprobs: []
        })
      }
    }
    event("response.output_item.done", { output_index: index, item })
  })
  event("response.completed", { response: whole })
  response.end()
}

/** Starts the server; `close` stops it and drops requests left hanging. */
export const start = (): Promise<ScriptedModel> =>
  new Promise((resolve, reject) => {
    const requests: Array<RecordedRequest> = []
    let steps: Array<Scripted> = []
    const server = Http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        let body: Json = {}
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json
        } catch {
          body = {}
        }
        const recorded: RecordedRequest = { path: request.url ?? "", headers: request.headers, body }
        requests.push(recorded)
        const next = steps.shift()
        if (next === undefined) {
          response.writeHead(500, { "content-type": "application/json" })
          response.end(
            JSON.stringify({ error: { message: "the script has no step left", type: "server_error" } })
          )
          return
        }
        const step = typeof next === "function" ? next(recorded) : next
        if ("hang" in step) return
        if ("status" in step) {
          response.writeHead(step.status, {
            "content-type": "application/json",
            ...(step.retryAfter === undefined ? {} : { "retry-after": step.retryAfter })
          })
          response.end(JSON.stringify({ error: { message: "scripted failure", type: "server_error" } }))
          return
        }
        if ("garbage" in step) {
          const streamed = body.stream === true
          response.writeHead(200, { "content-type": streamed ? "text/event-stream" : "application/json" })
          response.end(streamed ? `data: ${step.garbage}\n\n` : step.garbage)
          return
        }
        const model = typeof body.model === "string" ? body.model : "scripted"
        const isResponses = recorded.path.endsWith("/responses")
        if (body.stream === true) {
          if (isResponses) streamResponses(response, model, step)
          else
            streamChat(
              response,
              model,
              step,
              (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
            )
          return
        }
        response.writeHead(200, { "content-type": "application/json" })
        response.end(
          JSON.stringify(
            isResponses
              ? responseObject(model, responseOutput(step), step.usage)
              : chatCompletion(model, step)
          )
        )
      })
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        baseURL: `http://127.0.0.1:${port}/v1`,
        requests,
        script: (next) => {
          steps = [...next]
          requests.length = 0
        },
        remaining: () => steps.length,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

/** The server for the length of a scope. */
export const scoped = Effect.acquireRelease(
  Effect.promise(() => start()),
  (model) => Effect.promise(() => model.close())
)

/** The chat messages a Chat Completions request carried. */
export const chatMessages = (request: RecordedRequest): Array<Json> =>
  Array.isArray(request.body.messages) ? (request.body.messages as Array<Json>) : []

/** The JSON inside the last `<tool_result>` a request carried (Chat Completions or Responses). */
export const lastToolResult = (request: RecordedRequest): unknown => {
  const contents = [
    ...chatMessages(request)
      .filter((message) => message.role === "tool")
      .map((message) => String(message.content)),
    ...(Array.isArray(request.body.input) ? (request.body.input as Array<Json>) : [])
      .filter((item) => item.type === "function_call_output")
      .map((item) => String(item.output))
  ]
  const last = contents.at(-1)
  if (last === undefined) return undefined
  const match = /^<tool_result[^>]*>\n([\s\S]*)\n<\/tool_result>$/.exec(last)
  return match ? JSON.parse(match[1]!) : undefined
}

/**
 * The arguments a model writes for a todo tool in OpenAI's strict mode: every key the tool's
 * parameters declare (strict mode requires them all), null unless given. Derived from the
 * tool definitions, so a script stays in step with them.
 */
export const strictArguments = (
  tool: string,
  given: Record<string, unknown> = {}
): Record<string, unknown> => {
  const definition = todoToolDefinitions.find((candidate) => candidate.name === tool)
  const properties = definition?.parameters.properties
  if (typeof properties !== "object" || properties === null) throw new Error(`${tool} has no parameters`)
  return { ...Object.fromEntries(Object.keys(properties).map((key) => [key, null])), ...given }
}
