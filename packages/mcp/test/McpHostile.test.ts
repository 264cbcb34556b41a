/**
 * The MCP endpoint against hostile requests: a rebound DNS name (Host and Origin checks),
 * a forged Host trying to reach the protected-resource metadata and the challenge, tool
 * names that are properties of every object, and arguments that are not an object.
 */
import { describe, expect, layer } from "@effect/vitest"
import { McpHttp, ProtectedResource } from "@taskport/mcp"
import { connect, ENDPOINT, type Era } from "@taskport/test-support/McpHarness"
import { servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect } from "effect"

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
})

const post = (
  handler: McpHttp.McpHttpHandler,
  url: string,
  headers: Record<string, string>,
  body = initialize
) =>
  Effect.promise(() =>
    handler.fetch(
      new Request(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers
        },
        body
      })
    )
  )

describe("MCP over HTTP against hostile requests", () => {
  layer(servicesLayer(testDatabases()[0]!.layer()), { timeout: 120_000 })((it) => {
    it.effect("G5: Host must be a served name and Origin a configured one, even when they match", () =>
      Effect.gen(function* () {
        const handler = yield* McpHttp.make({
          allowedOrigins: ["http://localhost:3000"],
          allowedHosts: ["localhost", "127.0.0.1", "::1"]
        })
        const auth = { authorization: `Bearer ${yield* tokenFor(`u-${crypto.randomUUID()}`)}` }
        // A rebinding page: its own origin, and its own name in Host, pointed at 127.0.0.1.
        const rebound = yield* post(handler, "http://attacker.example:8787/mcp", {
          ...auth,
          host: "attacker.example:8787",
          origin: "http://attacker.example:8787"
        })
        expect(rebound.status).toBe(403)
        const sameOrigin = yield* post(handler, "http://127.0.0.1:8787/mcp", {
          ...auth,
          origin: "http://127.0.0.1:8787"
        })
        expect(sameOrigin.status).toBe(403)
        for (const host of ["127.0.0.1:8787", "localhost:8787", "[::1]:8787"]) {
          const served = yield* post(handler, `http://${host}/mcp`, { ...auth, host })
          expect(served.status, host).toBe(200)
        }
        const configured = yield* post(handler, "http://localhost:8787/mcp", {
          ...auth,
          origin: "http://localhost:3000"
        })
        expect(configured.status).toBe(200)
      })
    )

    it.effect(
      "G6: with a configured resource URL, neither the challenge nor the metadata echo the Host",
      () =>
        Effect.gen(function* () {
          const resourceUrl = () => new URL("http://127.0.0.1:4321/mcp")
          const handler = yield* McpHttp.make({ resourceUrl })
          const anonymous = yield* post(handler, "http://evil.example/mcp", { host: "evil.example" })
          expect(anonymous.status).toBe(401)
          const challenge = anonymous.headers.get("www-authenticate") ?? ""
          expect(challenge).toContain("http://127.0.0.1:4321/.well-known/oauth-protected-resource/mcp")
          expect(challenge).not.toContain("evil.example")
          const metadata = handler.metadata(new Request(`http://evil.example${handler.metadataPath}`))
          expect(((yield* Effect.promise(() => metadata.json())) as { resource: string }).resource).toBe(
            "http://127.0.0.1:4321/mcp"
          )
          // Without any configuration the request's URL is all there is; no cache may keep it.
          const bare = ProtectedResource.make({}).metadata(new Request("http://evil.example/.well-known/x"))
          expect(bare.headers.get("cache-control")).toBe("no-store")
        })
    )

    it.effect(
      "G6b: the challenge follows the resource URL as it changes, and each request's own Host without one",
      () =>
        Effect.gen(function* () {
          const challengeOf = (handler: McpHttp.McpHttpHandler, url: string, host: string) =>
            post(handler, url, { host }).pipe(
              Effect.map((response) => response.headers.get("www-authenticate") ?? "")
            )
          // A server on port 0 learns its address only once bound.
          let bound = new URL("http://127.0.0.1:4321/mcp")
          const following = yield* McpHttp.make({ resourceUrl: () => bound })
          expect(yield* challengeOf(following, "http://127.0.0.1/mcp", "127.0.0.1")).toContain(
            "http://127.0.0.1:4321/.well-known/oauth-protected-resource/mcp"
          )
          bound = new URL("http://127.0.0.1:5678/mcp")
          expect(yield* challengeOf(following, "http://127.0.0.1/mcp", "127.0.0.1")).toContain(
            "http://127.0.0.1:5678/.well-known/oauth-protected-resource/mcp"
          )
          const bare = yield* McpHttp.make({})
          expect(yield* challengeOf(bare, "http://one.example/mcp", "one.example")).toContain(
            "http://one.example/.well-known/oauth-protected-resource/mcp"
          )
          expect(yield* challengeOf(bare, "http://two.example/mcp", "two.example")).toContain(
            "http://two.example/.well-known/oauth-protected-resource/mcp"
          )
        })
    )

    for (const era of ["legacy", "modern"] as const satisfies ReadonlyArray<Era>) {
      it.effect(
        `G12 (${era}): inherited property names are no such tool; array arguments get one short message`,
        () =>
          Effect.gen(function* () {
            const handler = yield* McpHttp.make({})
            const client = yield* connect(handler, yield* tokenFor(`u-${crypto.randomUUID()}`), era)
            for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "todo_nothing"]) {
              const result = (yield* Effect.promise(() => client.callTool({ name, arguments: {} }))) as {
                isError?: boolean
                content: Array<{ text?: string }>
              }
              expect(result.isError, name).toBe(true)
              expect(result.content[0]?.text).toBe(`There is no tool named ${name}`)
            }
            const token = yield* tokenFor(`u-${crypto.randomUUID()}`)
            const raw = yield* post(
              handler,
              ENDPOINT,
              { authorization: `Bearer ${token}` },
              JSON.stringify({
                jsonrpc: "2.0",
                id: 7,
                method: "tools/call",
                params: { name: "todo_create", arguments: ["Buy milk"] }
              })
            )
            const body = (yield* Effect.promise(() => raw.json())) as {
              id: number
              result: { isError: boolean; content: Array<{ text: string }> }
            }
            expect(body.id).toBe(7)
            expect(body.result.isError).toBe(true)
            expect(body.result.content[0]?.text).toBe(
              "Invalid arguments for todo_create: arguments must be an object of named parameters"
            )
          }).pipe(Effect.scoped)
      )
    }
  })
})
