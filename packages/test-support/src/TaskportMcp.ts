/**
 * Taskport's own MCP endpoint on a real socket (127.0.0.1, a free port), over a test
 * database with the real jose authenticator, so MCP clients outside the process's module
 * graph (Taskport's MCP tool source, third-party agent SDKs) can be pointed at its URL.
 */
import { McpHttp } from "@taskport/mcp"
import { Effect } from "effect"
import { H3, serve } from "h3"
import { tokenFor } from "./RestHarness.ts"

export interface TaskportMcp {
  /** The endpoint's URL, ending in /mcp. */
  readonly url: string
  /** A bearer token the endpoint accepts for `user`. */
  readonly tokenFor: (user: string) => Effect.Effect<string>
  /** The tool calls received, in order, with their arguments exactly as sent. */
  readonly calls: Array<{ readonly name: string; readonly arguments: unknown }>
}

/** Serves the endpoint for the length of the scope, over the services of the context. */
export const serveMcp = Effect.gen(function* () {
  const handler = yield* Effect.acquireRelease(McpHttp.make({}), (handler) =>
    Effect.promise(() => handler.close())
  )
  const calls: Array<{ readonly name: string; readonly arguments: unknown }> = []
  const app = new H3()
  app.all("/mcp", async (event) => {
    if (event.req.method === "POST") {
      try {
        const body = JSON.parse(await event.req.clone().text()) as {
          method?: unknown
          params?: { name?: unknown; arguments?: unknown }
        }
        if (body.method === "tools/call") {
          calls.push({ name: String(body.params?.name), arguments: body.params?.arguments })
        }
      } catch {
        // Not JSON: the endpoint itself answers that.
      }
    }
    return handler.fetch(event.req)
  })
  const server = yield* Effect.acquireRelease(
    Effect.promise(async () => {
      const server = serve(app, { port: 0, hostname: "127.0.0.1", silent: true, gracefulShutdown: false })
      await server.ready()
      return server
    }),
    (server) => Effect.promise(() => server.close(true))
  )
  const url = `${(server.url ?? "").replace(/\/$/, "")}/mcp`
  return { url, tokenFor: (user: string) => tokenFor(user), calls } satisfies TaskportMcp
})
