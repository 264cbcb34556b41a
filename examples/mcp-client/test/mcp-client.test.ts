/**
 * Runs the MCP client example against a real `taskport serve` process, as a reader would.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { exited, killAll, start } from "@taskport/test-support/ServerProcess"
import { afterAll, describe, expect, it } from "vitest"

afterAll(killAll)

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url))

describe("examples/mcp-client", () => {
  it("M13: lists the tools and creates a task over HTTP", async () => {
    const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-example-mcp-"))
    const server = await start(Path.join(cwd, "data"), cwd)
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, "Example task"], {
      env: { PATH: process.env.PATH, TASKPORT_URL: server.base, TASKPORT_TOKEN: server.token },
      timeout: 60_000
    })
    expect(stdout).toContain(
      "Tools: todo_create, todo_read, todo_update, todo_delete, todo_list, todo_complete"
    )
    expect(stdout).toMatch(/Created task \d+: Example task/)
    const listed = await fetch(`${server.base}/api/v1/tasks`, {
      headers: { authorization: `Bearer ${server.token}` }
    })
    expect(((await listed.json()) as { items: Array<{ title: string; tags: Array<string> }> }).items).toEqual(
      [expect.objectContaining({ title: "Example task", tags: ["mcp"] })]
    )
    server.child.kill("SIGTERM")
    expect(await exited(server.child)).toBe(0)
  }, 120_000)
})
