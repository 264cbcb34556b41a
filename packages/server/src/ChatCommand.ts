/**
 * `taskport chat`: an interactive terminal chat with a running Taskport server. Each line is
 * one turn sent to the streaming chat endpoint; tool calls and their results are shown as
 * they happen and the answer is printed as it arrives. The conversation continues across
 * lines (`/new` starts another, `/exit` or end of input quits).
 */
import * as Readline from "node:readline"

export interface ChatCommandOptions {
  /** The server's base URL (default http://127.0.0.1:8787). */
  readonly url?: string | undefined
  /** A bearer token for the user to chat as. */
  readonly token?: string | undefined
  /** Continue this conversation instead of starting a new one. */
  readonly conversationId?: string | undefined
  readonly input: NodeJS.ReadableStream
  readonly output: NodeJS.WritableStream
}

export const DEFAULT_URL = "http://127.0.0.1:8787"

interface SseEvent {
  readonly event: string
  readonly data: unknown
}

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Splits a server-sent-event body into events as the bytes arrive. */
async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffer = ""
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, "\n")
    let end = buffer.indexOf("\n\n")
    while (end !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf("\n\n")
      let event = "message"
      const data: Array<string> = []
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
      }
      if (data.length === 0) continue
      try {
        yield { event, data: JSON.parse(data.join("\n")) as unknown }
      } catch {
        yield { event, data: data.join("\n") }
      }
    }
  }
}

const oneLine = (text: string, max = 100) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}

/** A tool result in a few words: the task it touched, how many it listed, or the error. */
const summarise = (call: Json): string => {
  const result = call.result
  if (call.is_error === true) return oneLine(typeof result === "string" ? result : JSON.stringify(result))
  if (isRecord(result) && typeof result.id === "number" && typeof result.title === "string") {
    return `#${result.id} ${JSON.stringify(result.title)}${result.completed === true ? " (done)" : ""}`
  }
  if (isRecord(result) && Array.isArray(result.items)) {
    return `${result.items.length} task${result.items.length === 1 ? "" : "s"}`
  }
  return oneLine(JSON.stringify(result ?? null))
}

const errorMessage = async (response: Response): Promise<string> => {
  try {
    const body = (await response.json()) as { error?: { message?: unknown } }
    if (typeof body.error?.message === "string") return body.error.message
  } catch {
    // Not a JSON error body: the status says enough.
  }
  return `HTTP ${response.status}`
}

/**
 * Runs the chat until `/exit` or the end of input. Resolves to the exit code: 0 when done,
 * 1 when the server cannot be reached or refuses the token, 2 when no token was given.
 */
export const runChat = async (options: ChatCommandOptions): Promise<number> => {
  const out = (text: string) => options.output.write(text)
  const base = (options.url ?? DEFAULT_URL).replace(/\/+$/, "")
  if (options.token === undefined || options.token.trim() === "") {
    out("taskport chat needs a bearer token for the user to chat as (taskport token <user> prints one).\n")
    return 2
  }
  const token = options.token.trim()
  let conversationId = options.conversationId
  out(`Chatting with ${base}. Type a message; /new starts a new conversation, /exit quits.\n`)

  const lines = Readline.createInterface({
    input: options.input,
    terminal: false,
    crlfDelay: Number.POSITIVE_INFINITY
  })
  try {
    out("> ")
    for await (const raw of lines) {
      const line = raw.trim()
      if (line === "/exit" || line === "/quit") break
      if (line === "/new") {
        conversationId = undefined
        out("(new conversation)\n> ")
        continue
      }
      if (line === "") {
        out("> ")
        continue
      }
      let response: Response
      try {
        response = await fetch(`${base}/api/v1/chat`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            accept: "text/event-stream"
          },
          body: JSON.stringify(
            conversationId === undefined
              ? { message: line }
              : { message: line, conversation_id: conversationId }
          )
        })
      } catch (error) {
        const reason =
          error instanceof Error && error.cause instanceof Error ? error.cause.message : "no answer"
        out(`Cannot reach ${base}: ${reason}\n`)
        return 1
      }
      if (response.status === 401) {
        out(`The server refused the token: ${await errorMessage(response)}\n`)
        return 1
      }
      if (!response.ok || response.body === null) {
        out(`! ${await errorMessage(response)}\n> `)
        continue
      }
      // Tool lines start on a fresh line even when they follow streamed text.
      let midLine = false
      const printLine = (text: string) => {
        out(`${midLine ? "\n" : ""}${text}\n`)
        midLine = false
      }
      for await (const { event, data } of readEvents(response.body)) {
        const payload = isRecord(data) ? data : {}
        switch (event) {
          case "tool_call":
            printLine(`  → ${String(payload.name)} ${JSON.stringify(payload.arguments ?? {})}`)
            break
          case "tool_result":
            printLine(
              `  ${payload.is_error === true ? "✗" : "✓"} ${String(payload.name)}: ${summarise(payload)}`
            )
            break
          case "delta":
            if (typeof payload.text === "string" && payload.text !== "") {
              out(payload.text)
              midLine = !payload.text.endsWith("\n")
            }
            break
          case "done":
            if (typeof payload.conversation_id === "string") conversationId = payload.conversation_id
            if (midLine) out("\n")
            midLine = false
            break
          case "error": {
            const error = isRecord(payload.error) ? payload.error : {}
            printLine(`! ${typeof error.message === "string" ? error.message : "the turn failed"}`)
            break
          }
        }
      }
      out("> ")
    }
  } finally {
    lines.close()
  }
  out("\n")
  return 0
}
