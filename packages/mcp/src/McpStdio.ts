/**
 * MCP over stdio for one user (Claude Desktop and other local clients): stdout carries only
 * JSON-RPC messages, so everything else this process says must go to stderr.
 *
 * Input reaches the SDK's transport through a line filter. The transport drops calls still
 * running when its input ends and skips lines it cannot parse; the filter instead holds the
 * end of input back until every request it passed on has been answered (a `todo_create`
 * sent just before EOF is carried out and answered), answers an unparsable line with a
 * JSON-RPC parse error, and answers tool calls the SDK would mishandle (`ToolCallScreen`).
 */
import { createInterface } from "node:readline"
import { PassThrough, type Readable, Writable } from "node:stream"
import { StdioServerTransport, serveStdio } from "@modelcontextprotocol/server/stdio"
import type { SettingsService, TodoToolHandlers, UserId } from "@taskport/core"
import { Effect } from "effect"
import { type McpOptions, makeFactory, servedToolNames } from "./TodoMcpServer.ts"
import { screen } from "./ToolCallScreen.ts"

export interface StdioOptions extends McpOptions {
  /** Defaults to this process's stdin and stdout. */
  readonly input?: Readable | undefined
  readonly output?: NodeJS.WritableStream | undefined
  /** Longest wait for answers after the input ended (default 30 s). */
  readonly drainTimeoutMs?: number | undefined
}

export interface StdioServer {
  /** Settles once the input has ended and every request read before it was answered. */
  readonly finished: Promise<void>
  readonly close: () => Promise<void>
}

type Id = string | number

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const PARSE_ERROR = {
  jsonrpc: "2.0",
  id: null,
  error: { code: -32700, message: "Parse error: the line is not JSON" }
}

/** Serves the tools for `user` until the input ends and what was asked is answered. */
export const serve = (
  user: UserId,
  options: StdioOptions = {}
): Effect.Effect<StdioServer, never, TodoToolHandlers | SettingsService> =>
  Effect.map(makeFactory(options), (factory) => {
    const input = options.input ?? process.stdin
    const output = options.output ?? process.stdout
    const toolNames = servedToolNames(options)
    const pending = new Set<Id>()
    const inbound = new PassThrough()
    let inputEnded = false
    let timer: NodeJS.Timeout | undefined
    let markFinished: () => void = () => {}
    const finished = new Promise<void>((resolve) => {
      markFinished = resolve
    })
    const finish = () => {
      if (timer !== undefined) clearTimeout(timer)
      inbound.end()
      markFinished()
    }
    const settle = () => {
      if (inputEnded && pending.size === 0) finish()
    }
    const send = (message: unknown) => output.write(`${JSON.stringify(message)}\n`)

    const answered = (line: string) => {
      try {
        const message: unknown = JSON.parse(line)
        for (const item of Array.isArray(message) ? message : [message]) {
          if (
            isRecord(item) &&
            !("method" in item) &&
            (typeof item.id === "string" || typeof item.id === "number")
          ) {
            pending.delete(item.id)
          }
        }
      } catch {
        // Not ours to judge: the SDK wrote it.
      }
    }
    // The SDK writes one serialised message per write; each is passed on as it is.
    const outbound = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const text = chunk.toString("utf8")
        output.write(text, () => {
          for (const line of text.split("\n")) if (line.trim() !== "") answered(line)
          callback()
          settle()
        })
      }
    })

    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
    lines.on("line", (line) => {
      if (line.trim() === "") return
      let message: unknown
      try {
        message = JSON.parse(line)
      } catch {
        send(PARSE_ERROR)
        return
      }
      const screened = screen(message, toolNames)
      if (screened !== undefined) {
        send(screened)
        return
      }
      for (const item of Array.isArray(message) ? message : [message]) {
        if (
          isRecord(item) &&
          typeof item.method === "string" &&
          (typeof item.id === "string" || typeof item.id === "number")
        ) {
          pending.add(item.id)
        }
      }
      inbound.write(`${line}\n`)
    })
    lines.on("close", () => {
      inputEnded = true
      // A request the SDK never answers must not keep the process alive for ever.
      timer = setTimeout(finish, options.drainTimeoutMs ?? 30_000)
      settle()
    })

    const transport = new StdioServerTransport(inbound, outbound)
    const handle = serveStdio(() => factory({ user }), { transport })
    return {
      finished,
      close: async () => {
        lines.close()
        finish()
        await handle.close()
      }
    }
  })
