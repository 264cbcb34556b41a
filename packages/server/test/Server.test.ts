/**
 * The built `taskport` command as a real process: dev-mode start on a fresh data directory,
 * use over HTTP, refusal of a second server on the same directory, graceful SIGTERM with
 * exit code 0, data surviving a restart, and the token and error paths of the CLI.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { BIN, exited, killAll, runCli, spawnCli, start } from "@taskport/test-support/ServerProcess"
import { afterAll, describe, expect, it } from "vitest"

afterAll(killAll)

describe("taskport serve as a process", () => {
  it("R37: serves on the embedded default, refuses a second server on its data directory, stops on SIGTERM with 0", async () => {
    expect(Fs.existsSync(BIN), "build first: npx tsc -b").toBe(true)
    const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-serve-"))
    const dataDir = Path.join(cwd, "data")
    const first = await start(dataDir, cwd)
    expect(first.output()).toContain("initialising embedded PGlite")
    const auth = { authorization: `Bearer ${first.token}` }

    const created = await fetch(`${first.base}/api/v1/tasks`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ title: "Survive a restart" })
    })
    expect(created.status).toBe(201)
    expect((await fetch(`${first.base}/health`)).status).toBe(200)
    expect((await fetch(`${first.base}/ready`)).status).toBe(200)

    const second = await runCli(["serve"], dataDir, cwd)
    expect(second.code).not.toBe(0)
    expect(second.stderr).toContain(Path.resolve(dataDir))
    expect(second.stderr).toContain("in use by another Taskport process")
    expect(second.stderr).not.toMatch(/\n\s+at /)

    // The first server is untouched by the refused one.
    const listed = await fetch(`${first.base}/api/v1/tasks`, { headers: auth })
    expect(((await listed.json()) as { items: Array<unknown> }).items).toHaveLength(1)

    first.child.kill("SIGTERM")
    expect(await exited(first.child)).toBe(0)
    expect(first.output()).toContain("Stopped.")

    const again = await start(dataDir, cwd)
    expect(again.output()).toContain("Database: embedded PGlite in")
    // The dev secret is kept, so the first token still works after the restart.
    const after = await fetch(`${again.base}/api/v1/tasks`, { headers: auth })
    const items = ((await after.json()) as { items: Array<{ title: string }> }).items
    expect(items.map((task) => task.title)).toEqual(["Survive a restart"])
    again.child.kill("SIGINT")
    expect(await exited(again.child)).toBe(0)
  }, 120_000)
})

describe("taskport command line", () => {
  it("R38: token mints a token the server accepts; unknown commands and bad settings exit non-zero with a message", async () => {
    const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-cli-"))
    const dataDir = Path.join(cwd, "data")
    const token = await runCli(["token", "alice", "--ttl", "15m"], dataDir, cwd)
    expect(token.code).toBe(0)
    const payload = JSON.parse(
      Buffer.from(token.stdout.trim().split(".")[1] ?? "", "base64url").toString()
    ) as {
      sub: string
      exp: number
      iat: number
    }
    expect(payload.sub).toBe("alice")
    expect(payload.exp - payload.iat).toBe(900)

    const migrated = await runCli(["migrate"], dataDir, cwd)
    expect(migrated.code).toBe(0)
    expect(migrated.stderr).toContain("Applied 1_create_tasks")
    const again = await runCli(["migrate"], dataDir, cwd)
    expect(again.stderr).toContain("The schema is up to date.")

    const unknown = await runCli(["frobnicate"], dataDir, cwd)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown command")

    const badPort = await runCli(["serve"], dataDir, cwd, { PORT: "not-a-port" })
    expect(badPort.code).not.toBe(0)
    expect(badPort.stderr).toContain("PORT")
    expect(badPort.stderr).not.toMatch(/\n\s+at /)

    const shortSecret = await runCli(["serve"], dataDir, cwd, { BETTER_AUTH_SECRET: "too-short" })
    expect(shortSecret.code).not.toBe(0)
    expect(shortSecret.stderr).toContain("BETTER_AUTH_SECRET")
  }, 60_000)
})

describe("taskport chat --local", () => {
  it("R40: chats with the agent in process over the embedded database, showing tool calls", async () => {
    const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-chat-local-"))
    const child = spawnCli(["chat", "--local"], Path.join(cwd, "data"), cwd, { LOG_LEVEL: "info" })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stdin.end("add a task to water the plants\nwhat's pending?\n")
    expect(await exited(child)).toBe(0)
    expect(stdout).toContain("todo_create")
    expect(stdout).toContain('Added task #1 "Water the plants"')
    expect(stdout).toContain("todo_list")
    // Request log lines stay out of the conversation.
    expect(stdout).not.toContain('"msg":"request"')
  }, 60_000)
})
