/**
 * The MCP surfaces of the built command against what the attack pass tried: `taskport mcp`
 * with its input closed right after a call and fed a line that is not JSON, and `/mcp` of
 * a running `taskport serve` reached through a forged Host.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import { request as httpRequest, type IncomingMessage } from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { BIN, env, exited, killAll, start } from "@taskport/test-support/ServerProcess"
import { afterAll, describe, expect, it } from "vitest"

afterAll(killAll)

const tempDir = (prefix: string) => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))

interface Message {
  readonly id?: number | null
  readonly result?: { readonly isError?: boolean; readonly structuredContent?: { readonly title?: string } }
  readonly error?: { readonly code: number }
}

describe("taskport mcp (stdio) at the end of its input", () => {
  it("G10: a call sent just before EOF is carried out and answered; an unparsable line gets a parse error", async () => {
    const cwd = tempDir("taskport-stdio-eof-")
    const child = spawn(process.execPath, [BIN, "mcp", "--user", "eof-user"], {
      cwd,
      env: env(Path.join(cwd, "data")),
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const lines = [
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } }
      },
      { jsonrpc: "2.0", method: "notifications/initialized" }
    ].map((message) => JSON.stringify(message))
    // Everything at once, then EOF: the create is still running when the input ends.
    child.stdin.end(
      `${lines.join("\n")}\n{not json\n${JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "todo_create", arguments: { title: "Sent before EOF" } }
      })}\n`
    )
    expect(await exited(child), stderr).toBe(0)
    const messages = stdout
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Message)
    const created = messages.find((message) => message.id === 3)
    expect(created?.result?.isError, stdout).not.toBe(true)
    expect(created?.result?.structuredContent?.title).toBe("Sent before EOF")
    const parseError = messages.find((message) => message.error?.code === -32700)
    expect(parseError?.id).toBeNull()
  }, 60_000)
})

describe("taskport serve's /mcp and a forged Host", () => {
  it("G5/G6: a foreign Host is refused; the challenge and metadata name the bound address", async () => {
    const cwd = tempDir("taskport-host-")
    const server = await start(Path.join(cwd, "data"), cwd)
    const base = new URL(server.base)
    const raw = (path: string, host: string, method = "POST") =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
        (resolve, reject) => {
          // fetch() would not send a Host of our choosing; node:http does.
          const request = httpRequest(
            {
              host: base.hostname,
              port: base.port,
              path,
              method,
              headers: {
                host,
                "content-type": "application/json",
                accept: "application/json, text/event-stream"
              }
            },
            (response: IncomingMessage) => {
              let body = ""
              response.on("data", (chunk: Buffer) => (body += chunk.toString()))
              response.on("end", () =>
                resolve({ status: response.statusCode ?? 0, headers: response.headers, body })
              )
            }
          )
          request.on("error", reject)
          request.end(method === "POST" ? "{}" : undefined)
        }
      )
    const forged = await raw("/mcp", "attacker.example")
    expect(forged.status).toBe(403)
    const anonymous = await raw("/mcp", `localhost:${base.port}`)
    expect(anonymous.status).toBe(401)
    expect(String(anonymous.headers["www-authenticate"])).toContain(
      `${server.base}/.well-known/oauth-protected-resource/mcp`
    )
    const metadata = await raw("/.well-known/oauth-protected-resource/mcp", "attacker.example", "GET")
    expect(metadata.status).toBe(200)
    expect(metadata.body).not.toContain("attacker.example")
    expect(JSON.parse(metadata.body).resource).toBe(`${server.base}/mcp`)
    server.child.kill("SIGTERM")
    await exited(server.child)
  }, 60_000)
})
