/**
 * The server's JSON log lines: Effect's own log calls arrive with their level, message and
 * annotations, each annotation a field of its own; lines below the minimum level are dropped.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Logging from "../src/Logging.ts"

const captured = (minimum: "debug" | "info" | "warn" | "error") => {
  const lines: Array<Record<string, unknown>> = []
  const layer = Logging.layer(
    minimum,
    Logging.makeLog(minimum, (line) => lines.push(JSON.parse(line) as Record<string, unknown>))
  )
  return { lines, layer }
}

describe("Logging", () => {
  it.effect("O8: annotations appear as fields of the JSON line", () =>
    Effect.gen(function* () {
      const { lines, layer } = captured("info")
      yield* Effect.logWarning("outer").pipe(Effect.annotateLogs("user", "alice")).pipe(Effect.provide(layer))
      yield* Effect.logInfo("x").pipe(
        Effect.annotateLogs({ request_id: "r-1", sqlstate: "42P01" }),
        Effect.provide(layer)
      )
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatchObject({ level: "warn", msg: "outer", user: "alice" })
      expect(lines[1]).toMatchObject({ level: "info", msg: "x", request_id: "r-1", sqlstate: "42P01" })
      expect(typeof lines[1]?.time).toBe("string")
    })
  )

  it.effect("O9: an annotation cannot overwrite the line's own level or message", () =>
    Effect.gen(function* () {
      const { lines, layer } = captured("info")
      yield* Effect.logInfo("real").pipe(
        Effect.annotateLogs({ level: "error", msg: "forged" }),
        Effect.provide(layer)
      )
      expect(lines).toEqual([expect.objectContaining({ level: "info", msg: "real" })])
    })
  )

  it.effect("O10: lines below the minimum level are dropped", () =>
    Effect.gen(function* () {
      const { lines, layer } = captured("warn")
      yield* Effect.logInfo("quiet").pipe(Effect.provide(layer))
      yield* Effect.logError("loud").pipe(Effect.provide(layer))
      expect(lines.map((line) => line.msg)).toEqual(["loud"])
    })
  )
})
