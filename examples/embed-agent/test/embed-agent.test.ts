/**
 * Runs the embedded-agent example as its own process, the way a reader would, with no model
 * configured, and checks what it printed: each turn's tool calls and the offline
 * interpreter's answers over PGlite, the last one streamed.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url))

describe("examples/embed-agent", () => {
  it("C28: chats through the embedded offline agent over PGlite", async () => {
    const { OPENAI_API_KEY: _key, ...env } = process.env
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN], { timeout: 60_000, env })
    expect(stdout.trim().split("\n")).toEqual([
      "> add a task to buy groceries",
      '  [todo_create {"title":"Buy groceries"}]',
      'Added task #1 "Buy groceries".',
      "> I need to remember to pay bills",
      '  [todo_create {"title":"Pay bills"}]',
      'Added task #2 "Pay bills".',
      "> mark task 1 as complete",
      '  [todo_complete {"id":1}]',
      'Marked task #1 "Buy groceries" as complete.',
      "> what's pending?",
      '  [todo_list {"status":"pending"}]',
      "You have 1 pending task:",
      "- #2 Pay bills"
    ])
  }, 90_000)
})
