/**
 * An instant OpenAI-compatible model for the chat workloads: a Chat Completions endpoint on
 * 127.0.0.1 that answers every request at once, so that what the chat figures measure is
 * the server's own work around the model (history, tools, storage, three model round trips)
 * and not a model's think time.
 *
 * Each turn follows the same three steps, chosen from the request alone so that any number
 * of concurrent turns each get their own script without the model keeping state:
 *
 * 1. the last message is the user's: call `todo_list` for a page of LIST_LIMIT tasks (every
 *    turn adds a task, so the default page would grow through a run from the 20 seeded
 *    tasks to 50, and with it every later request);
 * 2. it is the `todo_list` result: call `todo_create`;
 * 3. it is the `todo_create` result: reply in plain text.
 *
 * Tool arguments are written in OpenAI's strict shape, every declared key present and null
 * for the ones left out, with the keys read from the tool definitions the request carries,
 * so the calls stay valid when a tool gains a parameter. The time spent answering (from the
 * whole request body being read to the response being handed to the socket) is recorded, so
 * the report can show that the model's share of a turn is close to nothing.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { createHistogram } from "node:perf_hooks"

/** The title of the task every chat turn creates; the benchmark removes these after each run. */
export const CHAT_TASK_TITLE = "Chat benchmark task"
export const CHAT_REPLY = `Added the task "${CHAT_TASK_TITLE}".`
/** The page todo_list is asked for: as many tasks as each benchmark user is seeded with. */
export const LIST_LIMIT = 20

export interface ModelStats {
  readonly requests: number
  /** Requests the model could not answer with a step (unexpected path or body). */
  readonly refused: number
  /** Time to answer one request, from its whole body being read to the answer being sent. */
  readonly meanUs: number
  /** The 99th percentile of the same; for figures combined over rounds, the largest round's. */
  readonly p99Us: number
  /** Mean size of a request's JSON body: the prompt, tools and history the server sends. */
  readonly meanRequestBytes: number
}

/** Figures of several runs as one (the p99 is a bound: the largest of the runs'). */
export const combine = (runs: ReadonlyArray<ModelStats>): ModelStats => {
  const requests = runs.reduce((sum, run) => sum + run.requests, 0)
  const weighted = (pick: (run: ModelStats) => number) =>
    requests === 0
      ? Number.NaN
      : runs.reduce((sum, run) => sum + (run.requests === 0 ? 0 : pick(run) * run.requests), 0) / requests
  return {
    requests,
    refused: runs.reduce((sum, run) => sum + run.refused, 0),
    meanUs: weighted((run) => run.meanUs),
    p99Us: Math.max(...runs.map((run) => (Number.isNaN(run.p99Us) ? 0 : run.p99Us))),
    meanRequestBytes: weighted((run) => run.meanRequestBytes)
  }
}

export interface InstantModel {
  /** The base URL for OPENAI_BASE_URL, ending in /v1. */
  readonly baseURL: string
  /** Figures since the last reset. */
  readonly stats: () => ModelStats
  readonly reset: () => void
  /**
   * Resolves once no request has arrived for `quietMs`. When a timed load ends, the turns in
   * flight go on in the server; the next fixture reset must not run under them (it would
   * rewind a conversation a turn is about to append to).
   */
  readonly settled: (quietMs?: number) => Promise<void>
  readonly close: () => Promise<void>
}

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Every key the named tool declares, null unless given: the strict shape a real model writes. */
const strictArguments = (tools: unknown, name: string, given: Json): string => {
  const tool = Array.isArray(tools)
    ? tools.find((t): t is Json => isRecord(t) && isRecord(t.function) && t.function.name === name)
    : undefined
  const parameters = isRecord(tool) && isRecord(tool.function) ? tool.function.parameters : undefined
  const properties = isRecord(parameters) && isRecord(parameters.properties) ? parameters.properties : {}
  const args: Json = {}
  for (const key of Object.keys(properties)) args[key] = key in given ? given[key] : null
  return JSON.stringify({ ...args, ...given })
}

type Step = { readonly call: string; readonly args: Json } | { readonly reply: string }

/** The next step of the three, from the last message of the request. */
const nextStep = (messages: ReadonlyArray<unknown>): Step => {
  const last = messages.at(-1)
  if (isRecord(last) && last.role === "tool" && typeof last.content === "string") {
    // Tool results arrive wrapped as <tool_result name="..." status="...">, see OpenAiAgentRunner.
    if (last.content.startsWith('<tool_result name="todo_create"')) return { reply: CHAT_REPLY }
    if (last.content.startsWith('<tool_result name="todo_list"')) {
      return { call: "todo_create", args: { title: CHAT_TASK_TITLE } }
    }
  }
  return { call: "todo_list", args: { limit: LIST_LIMIT } }
}

let sequence = 0

const completion = (model: string, step: Step, tools: unknown) => {
  const id = ++sequence
  const message =
    "reply" in step
      ? { role: "assistant", content: step.reply, refusal: null }
      : {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: `call_${id}`,
              type: "function",
              function: { name: step.call, arguments: strictArguments(tools, step.call, step.args) }
            }
          ]
        }
  return {
    id: `chatcmpl_${id}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, finish_reason: "reply" in step ? "stop" : "tool_calls", logprobs: null, message }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
  }
}

const refuse = (response: Http.ServerResponse, status: number, message: string) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify({ error: { message, type: "invalid_request_error" } }))
}

/** Starts the model on a free port of 127.0.0.1. */
export const start = (): Promise<InstantModel> =>
  new Promise((resolve, reject) => {
    let histogram = createHistogram()
    let refused = 0
    let bytes = 0
    let lastArrival = performance.now()
    const server = Http.createServer((request, response) => {
      lastArrival = performance.now()
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const begun = performance.now()
        const raw = Buffer.concat(chunks)
        bytes += raw.length
        let body: unknown
        try {
          body = JSON.parse(raw.toString("utf8"))
        } catch {
          body = undefined
        }
        // Only plain (not streamed) Chat Completions: what the server's JSON chat turns ask for.
        if (
          request.method !== "POST" ||
          !request.url?.endsWith("/chat/completions") ||
          !isRecord(body) ||
          !Array.isArray(body.messages) ||
          body.stream === true
        ) {
          refused++
          return refuse(response, 400, "the instant model answers plain Chat Completions only")
        }
        const model = typeof body.model === "string" ? body.model : "instant"
        const text = JSON.stringify(completion(model, nextStep(body.messages), body.tools))
        response.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text)
        })
        response.end(text)
        histogram.record(Math.max(1, Math.round((performance.now() - begun) * 1000)))
      })
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        baseURL: `http://127.0.0.1:${port}/v1`,
        stats: () => ({
          requests: histogram.count,
          refused,
          meanUs: histogram.count === 0 ? Number.NaN : histogram.mean,
          p99Us: histogram.count === 0 ? Number.NaN : histogram.percentile(99),
          meanRequestBytes: histogram.count + refused === 0 ? Number.NaN : bytes / (histogram.count + refused)
        }),
        reset: () => {
          histogram = createHistogram()
          refused = 0
          bytes = 0
        },
        settled: async (quietMs = 500) => {
          for (;;) {
            const quiet = performance.now() - lastArrival
            if (quiet >= quietMs) return
            await new Promise((done) => setTimeout(done, quietMs - quiet))
          }
        },
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
