/**
 * McpToolSource against a small MCP server started here on the official SDK (Streamable
 * HTTP on a real socket): the user's bearer token goes with every request, the tool list is
 * fetched once per source (so once per turn, whatever the number of model steps), strict
 * variants are derived from the server's JSON Schemas, and every failure is an `is_error`
 * result. A scripted model then drives a turn over these tools through the OpenAI runner.
 */

import { describe, expect, layer } from "@effect/vitest"
import { createMcpHandler, McpServer, type StandardSchemaWithJSON } from "@modelcontextprotocol/server"
import { McpToolSource, OfflineAgentRunner, OpenAiAgentRunner, StrictParameters } from "@taskport/agent"
import * as ScriptedModel from "@taskport/test-support/ScriptedModel"
import { lastToolResult } from "@taskport/test-support/ScriptedModel"
import { Context, Effect, Layer, Schema } from "effect"
import { H3, serve } from "h3"

const standard = (schema: Schema.Top): StandardSchemaWithJSON =>
  Schema.toStandardJSONSchemaV1(
    Schema.toStandardSchemaV1(schema as Schema.Codec<unknown, unknown>)
  ) as StandardSchemaWithJSON

const WeatherParams = Schema.Struct({
  city: Schema.String.check(Schema.isMinLength(1)),
  days: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 7 })))
})

const TOKENS: Record<string, string> = { "token-alice": "alice", "token-bob": "bob" }

interface Seen {
  readonly authorization: string | null
  readonly method: string
}

interface WeatherServer {
  readonly url: string
  readonly seen: Array<Seen>
  readonly close: () => Promise<void>
}

const startWeatherServer = async (): Promise<WeatherServer> => {
  const seen: Array<Seen> = []
  const handler = createMcpHandler(
    (context) => {
      const user = String(context.authInfo?.extra?.user)
      const server = new McpServer({ name: "weather", version: "1.0.0" })
      server.registerTool(
        "weather",
        { description: "The forecast for a city.", inputSchema: standard(WeatherParams) },
        async (args: unknown) => {
          const { city, days } = args as { city: string; days?: number }
          return {
            content: [{ type: "text", text: JSON.stringify({ city, days: days ?? 1, sky: "sunny" }) }]
          }
        }
      )
      server.registerTool(
        "whoami",
        { description: "Who is calling.", inputSchema: standard(Schema.Struct({})) },
        async () => ({ content: [{ type: "text", text: user }] })
      )
      server.registerTool(
        "broken",
        { description: "Always fails.", inputSchema: standard(Schema.Struct({})) },
        async () => ({ isError: true, content: [{ type: "text", text: "The tool broke" }] })
      )
      return server
    },
    { legacy: "stateless", responseMode: "json" }
  )
  const app = new H3()
  app.all("/mcp", async (event) => {
    const authorization = event.req.headers.get("authorization")
    const text = event.req.method === "POST" ? await event.req.text() : ""
    const body = text === "" ? undefined : (JSON.parse(text) as { method?: string })
    seen.push({ authorization, method: body?.method ?? event.req.method })
    const token = authorization?.replace(/^Bearer /, "") ?? ""
    const user = TOKENS[token]
    if (user === undefined) {
      return new Response(JSON.stringify({ error: "invalid_token" }), {
        status: 401,
        headers: { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' }
      })
    }
    return handler.fetch(event.req, {
      authInfo: { token, clientId: "test", scopes: [], extra: { user } },
      ...(body === undefined ? {} : { parsedBody: body })
    })
  })
  const server = serve(app, { port: 0, hostname: "127.0.0.1", silent: true })
  await server.ready()
  return {
    url: `${(server.url ?? "").replace(/\/$/, "")}/mcp`,
    seen,
    close: async () => {
      await handler.close()
      await server.close(true)
    }
  }
}

class Weather extends Context.Service<Weather, WeatherServer>()("test/WeatherServer") {}
class Model extends Context.Service<Model, ScriptedModel.ScriptedModel>()("test/ScriptedModel") {}

const servers = Layer.merge(
  Layer.effect(
    Weather,
    Effect.acquireRelease(
      Effect.promise(() => startWeatherServer()),
      (server) => Effect.promise(() => server.close())
    )
  ),
  Layer.effect(Model, ScriptedModel.scoped)
)

const listings = (server: WeatherServer) =>
  server.seen.filter((entry) => entry.method === "tools/list").length

describe("McpToolSource", () => {
  layer(servers, { timeout: 60_000 })((it) => {
    it.effect(
      "C18: lists the tools once, with strict variants derivable, and calls them with the user's token",
      () =>
        Effect.gen(function* () {
          const server = yield* Weather
          server.seen.length = 0
          const alice = yield* McpToolSource.make({ url: server.url, token: "token-alice" })
          expect(alice.tools.map((tool) => tool.name).sort()).toEqual(["broken", "weather", "whoami"])
          const weather = alice.tools.find((tool) => tool.name === "weather")!
          expect(weather.description).toBe("The forecast for a city.")
          expect(weather.parameters).toMatchObject({ type: "object", required: ["city"] })
          // The source gives the schema as listed; the OpenAI runner derives the strict variant.
          expect(Object.keys(weather).sort()).toEqual(["description", "name", "parameters"])
          const strict = StrictParameters.strictVariant(weather)!
          expect(strict.schema).toMatchObject({ additionalProperties: false, required: ["city", "days"] })
          expect(yield* strict.toArguments({ city: "Oslo", days: null })).toEqual({ city: "Oslo" })

          expect(yield* alice.call("weather", { city: "Oslo", days: 3 })).toEqual({
            is_error: false,
            result: { city: "Oslo", days: 3, sky: "sunny" }
          })
          expect(yield* alice.call("whoami", {})).toEqual({ is_error: false, result: "alice" })
          expect(yield* alice.call("broken", {})).toEqual({ is_error: true, result: "The tool broke" })
          const invalid = yield* alice.call("weather", { city: "" })
          expect(invalid.is_error).toBe(true)
          expect(String(invalid.result)).toContain("city")
          expect((yield* alice.call("nope", {})).is_error).toBe(true)
          expect(yield* alice.call("weather", "Oslo")).toEqual({
            is_error: true,
            result: "Invalid arguments: send a JSON object"
          })

          expect(listings(server)).toBe(1)
          expect(server.seen.length).toBeGreaterThan(3)
          expect(server.seen.every((entry) => entry.authorization === "Bearer token-alice")).toBe(true)

          // Another user's source carries that user's token and fetches its own list.
          const bob = yield* McpToolSource.make({ url: server.url, token: "token-bob" })
          expect(yield* bob.call("whoami", {})).toEqual({ is_error: false, result: "bob" })
          expect(yield* alice.call("whoami", {})).toEqual({ is_error: false, result: "alice" })
          expect(listings(server)).toBe(2)
        })
    )

    it.effect("C18: a refused token or an unreachable server fails making the source", () =>
      Effect.gen(function* () {
        const server = yield* Weather
        const refused = yield* Effect.flip(McpToolSource.make({ url: server.url, token: "token-mallory" }))
        expect(refused).toMatchObject({ _tag: "McpToolSourceError", reason: "unauthorized" })
        const gone = yield* Effect.promise(() => ScriptedModel.start())
        yield* Effect.promise(() => gone.close())
        const unreachable = yield* Effect.flip(
          McpToolSource.make({ url: gone.baseURL.replace(/\/v1$/, "/mcp"), token: "token-alice" })
        )
        expect(unreachable).toMatchObject({ _tag: "McpToolSourceError", reason: "unreachable" })
        expect(unreachable.message).toBe("The tool server could not be reached")
      })
    )

    it.effect("C18: a model turn over MCP tools lists them once, whatever the number of steps", () =>
      Effect.gen(function* () {
        const server = yield* Weather
        const model = yield* Model
        server.seen.length = 0
        const tools = yield* McpToolSource.make({ url: server.url, token: "token-alice" })
        model.script([
          { toolCalls: [{ name: "weather", arguments: { city: "Lyon", days: null } }] },
          { toolCalls: [{ name: "whoami", arguments: {} }] },
          (request) => ({ reply: `Hello ${String(lastToolResult(request))}, it is sunny in Lyon.` })
        ])
        const runner = OpenAiAgentRunner.make({ apiKey: "k", baseURL: model.baseURL, maxRetries: 0 })
        const reply = yield* runner.run({ history: [], message: "weather in Lyon?", tools })
        expect(reply.content).toBe("Hello alice, it is sunny in Lyon.")
        expect(reply.tool_calls.map((call) => [call.name, call.arguments, call.result])).toEqual([
          ["weather", { city: "Lyon" }, { city: "Lyon", days: 1, sky: "sunny" }],
          ["whoami", {}, "alice"]
        ])
        const sent = model.requests[0]!.body.tools as Array<{ function: { name: string; strict: boolean } }>
        expect(sent.map((tool) => [tool.function.name, tool.function.strict]).sort()).toEqual([
          ["broken", true],
          ["weather", true],
          ["whoami", true]
        ])
        expect(listings(server)).toBe(1)

        // The offline interpreter needs the todo tools and says so when a source lacks them.
        const offline = yield* OfflineAgentRunner.make.run({
          history: [],
          message: "show me all my tasks",
          tools
        })
        expect(offline).toEqual({
          content: "The todo tools are not available here, so I cannot act on your tasks.",
          tool_calls: []
        })
      })
    )
  })
})
