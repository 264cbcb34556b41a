/**
 * Runs the library example as its own process, the way a reader would, and checks what it
 * printed: the use cases ran over PGlite and the due-date ordering held.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url))

describe("examples/library", () => {
  it("R39: creates, completes and lists tasks through the core over PGlite", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN], { timeout: 60_000 })
    expect(stdout.trim().split("\n")).toEqual([
      "Completed: Buy milk",
      "Pending: Water the plants (due 2026-11-30)",
      "Pending: Call the plumber (due 2026-12-01T09:00:00.000+01:00[Europe/Paris])"
    ])
  }, 90_000)
})
