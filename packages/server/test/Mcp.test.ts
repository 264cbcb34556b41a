/**
 * MCP through real processes: `taskport mcp` on stdio (stdout carries protocol messages and
 * nothing else), the `/mcp` endpoint of a running `taskport serve` over real HTTP with the
 * SDK client, and the official MCP Inspector CLI listing and calling tools with a bearer
 * header.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { exited, killAll, runCli, spawnCli, start } from "@taskport/test-support/ServerProcess"
import { afterAll, describe, expect, it } from "vitest"

afterAll(killAll)

const tempDir = (prefix: string) => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))

describe("taskport mcp (stdio)", () => {
  it("M10: answers initialize, tools/list and tools/call on stdout with nothing else, and exits when stdin closes", async () => {
    const cwd = tempDir("taskport-stdio-")
    const child = spawnCli(["mcp", "--user", "stdio-user"], Path.join(cwd, "data"), cwd)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`)
    const responses = () =>
      stdout
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as { id?: number; result?: Record<string, unknown>; jsonrpc: string })
    const waitFor = async (id: number) => {
      for (let i = 0; i < 600; i++) {
        if (responses().some((message) => message.id === id)) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      throw new Error(`no response ${id}; stderr:\n${stderr}`)
    }
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test", version: "1" } }
    })
    await waitFor(1)
    send({ jsonrpc: "2.0", method: "notifications/initialized" })
    send({ jsonrpc: "2.0", id: 2, method: "tools/list" })
    await waitFor(2)
    send({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "todo_create", arguments: { title: "From stdio" } }
    })
    await waitFor(3)
    child.stdin.end()
    expect(await exited(child)).toBe(0)

    // Every stdout line parsed as JSON-RPC above; check their shape and content too.
    const all = responses()
    expect(all.every((message) => message.jsonrpc === "2.0")).toBe(true)
    const tools = all.find((message) => message.id === 2)?.result?.tools as Array<{ name: string }>
    expect(tools.map((tool) => tool.name)).toContain("todo_create")
    const created = all.find((message) => message.id === 3)?.result as {
      structuredContent: { title: string }
    }
    expect(created.structuredContent.title).toBe("From stdio")
    expect(stderr).toContain("MCP server on stdio for user stdio-user")
  }, 90_000)

  it("M11: refuses to start without TASKPORT_TOKEN, and --user outside dev mode", async () => {
    const cwd = tempDir("taskport-stdio-")
    const run = (args: Array<string>, extra: NodeJS.ProcessEnv) =>
      runCli(args, Path.join(cwd, "data"), cwd, extra)
    const none = await run(["mcp"], {})
    expect(none.code).not.toBe(0)
    expect(none.stderr).toContain("TASKPORT_TOKEN")
    const secret = "a-shared-secret-that-is-long-enough-0123456789"
    const notDev = await run(["mcp", "--user", "someone"], { BETTER_AUTH_SECRET: secret })
    expect(notDev.code).not.toBe(0)
    expect(notDev.stderr).toContain("TASKPORT_TOKEN")
    const badToken = await run(["mcp"], { BETTER_AUTH_SECRET: secret, TASKPORT_TOKEN: "not-a-token" })
    expect(badToken.code).not.toBe(0)
    expect(badToken.stderr).not.toContain("not-a-token")
  }, 90_000)
})

describe("/mcp on taskport serve", () => {
  it("M12: the SDK client over real HTTP and the MCP Inspector CLI list and call tools with a bearer header", async () => {
    const cwd = tempDir("taskport-mcp-http-")
    const server = await start(Path.join(cwd, "data"), cwd)
    const url = new URL("/mcp", server.base)

    const client = new Client({ name: "taskport-test", version: "1.0.0" })
    await client.connect(
      new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { authorization: `Bearer ${server.token}` } }
      })
    )
    const created = await client.callTool({ name: "todo_create", arguments: { title: "Over HTTP" } })
    expect((created.structuredContent as { title: string }).title).toBe("Over HTTP")
    await client.close()

    const unauthenticated = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}"
    })
    expect(unauthenticated.status).toBe(401)
    expect(unauthenticated.headers.get("www-authenticate")).toContain(
      "/.well-known/oauth-protected-resource/mcp"
    )
    const metadata = (await (
      await fetch(new URL("/.well-known/oauth-protected-resource/mcp", server.base))
    ).json()) as {
      resource: string
    }
    expect(metadata.resource).toBe(url.href)

    const inspector = Path.join(
      Path.dirname(createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json")),
      "clients/launcher/build/index.js"
    )
    const inspect = (...args: Array<string>) =>
      promisify(execFile)(
        process.execPath,
        [
          inspector,
          "--cli",
          url.href,
          "--transport",
          "http",
          "--header",
          `Authorization: Bearer ${server.token}`,
          ...args
        ],
        // HOME points at the temporary folder so the Inspector keeps its state out of the user's home.
        { cwd, env: { PATH: process.env.PATH, HOME: cwd }, timeout: 60_000 }
      )
    const listed = await inspect("--method", "tools/list")
    expect(listed.stdout).toContain("todo_list")
    expect(listed.stdout).toContain("todo_create")
    const called = await inspect(
      "--method",
      "tools/call",
      "--tool-name",
      "todo_list",
      "--tool-arg",
      "query=HTTP"
    )
    expect(called.stdout).toContain("Over HTTP")

    server.child.kill("SIGTERM")
    expect(await exited(server.child)).toBe(0)
  }, 120_000)
})
