/**
 * Connects the official MCP SDK client to the Taskport MCP endpoint in process: the client's
 * transport fetches through the endpoint's web-standard handler, so tests run the real
 * HTTP-level checks (auth, origin, size) and the real protocol without a socket.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import type { McpHttp } from "@taskport/mcp"
import { Effect } from "effect"

export type Era = "legacy" | "modern"
export const MODERN_REVISION = "2026-07-28"
export const ENDPOINT = "http://taskport.test/mcp"

export const inProcessFetch =
  (handler: McpHttp.McpHttpHandler) =>
  (url: string | URL, init?: RequestInit): Promise<Response> =>
    handler.fetch(new Request(url, init))

/** A connected client for `token`, speaking the 2025-era protocol or the 2026-07-28 revision. */
export const connect = (handler: McpHttp.McpHttpHandler, token: string, era: Era) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client(
        { name: "taskport-test", version: "1.0.0" },
        era === "modern" ? { versionNegotiation: { mode: { pin: MODERN_REVISION } } } : {}
      )
      const transport = new StreamableHTTPClientTransport(new URL(ENDPOINT), {
        fetch: inProcessFetch(handler),
        requestInit: { headers: { authorization: `Bearer ${token}` } }
      })
      await client.connect(transport)
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )
