/**
 * Structured logs: one JSON object per line on stderr (stdout stays free for program output
 * and, for the stdio MCP server, protocol messages), filtered by LOG_LEVEL. The surfaces'
 * request lines and Effect's own log calls, with their annotations, share the format.
 */
import Cluster from "node:cluster"
import type { RequestLog } from "@taskport/http"
import { Cause, Layer, Logger, References } from "effect"
import type { LogLevel } from "./ServerConfig.ts"

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type LogEntry = RequestLog.LogEntry

// The line's own fields win over annotations of the same name.
const RESERVED = new Set(["time", "level", "msg", "cause"])

/** In a server of several workers (WEB_CONCURRENCY), which one wrote a line; alone, nothing. */
const worker: { readonly pid?: number } = Cluster.isWorker ? { pid: process.pid } : {}

/** A writer of JSON log lines that drops entries below `minimum`. */
export const makeLog =
  (minimum: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)) =>
  (entry: LogEntry): void => {
    if (RANK[entry.level] < RANK[minimum]) return
    write(`${JSON.stringify({ time: new Date().toISOString(), ...worker, ...entry })}\n`)
  }

const toLevel = (label: string): LogEntry["level"] => {
  switch (label) {
    case "Trace":
    case "Debug":
      return "debug"
    case "Info":
      return "info"
    case "Warn":
      return "warn"
    default:
      return "error"
  }
}

/**
 * Routes Effect's own logging (`Effect.log*`) into the same JSON lines, each annotation
 * (`Effect.annotateLogs`) a field of its own.
 */
export const layer = (minimum: LogLevel, log = makeLog(minimum)) =>
  Layer.mergeAll(
    Logger.layer([
      Logger.make((options) => {
        const message = Array.isArray(options.message)
          ? options.message.map(String).join(" ")
          : String(options.message)
        const annotations: Record<string, unknown> = {}
        for (const [key, value] of Object.entries(options.fiber.getRef(References.CurrentLogAnnotations))) {
          if (!RESERVED.has(key)) annotations[key] = value
        }
        log({
          ...annotations,
          level: toLevel(options.logLevel),
          msg: message,
          ...(options.cause.reasons.length === 0 ? {} : { cause: Cause.pretty(options.cause) })
        })
      })
    ]),
    Layer.succeed(
      References.MinimumLogLevel,
      minimum === "debug" ? "Debug" : minimum === "info" ? "Info" : minimum === "warn" ? "Warn" : "Error"
    )
  )
