/**
 * Taskport's MCP endpoint as the OpenAI Agents SDK sees it: with strict-schema conversion
 * on, every tool converts to strict mode with no warning logged, and an agent turn against
 * a scripted model (the real `openai` client over HTTP) makes strict-shaped calls (every key
 * present, null for those left out) that Taskport accepts.
 */
import { afterEach, beforeEach, describe, expect, layer } from "@effect/vitest"
import {
  Agent,
  getAllMcpTools,
  MCPServerStreamableHttp,
  OpenAIChatCompletionsModel,
  OpenAIResponsesModel,
  run,
  setTracingDisabled
} from "@openai/agents"
import { todoToolNames, UserId } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { allTasks, as } from "@taskport/test-support/ChatHarness"
import { servicesLayer } from "@taskport/test-support/RestHarness"
import * as ScriptedModel from "@taskport/test-support/ScriptedModel"
import { chatMessages, type RecordedRequest } from "@taskport/test-support/ScriptedModel"
import { serveMcp, type TaskportMcp } from "@taskport/test-support/TaskportMcp"
import { Context, Effect, Layer } from "effect"
import OpenAI from "openai"
import { type MockInstance, vi } from "vitest"

setTracingDisabled(true)

class Mcp extends Context.Service<Mcp, TaskportMcp>()("test/TaskportMcp") {}
class Model extends Context.Service<Model, ScriptedModel.ScriptedModel>()("test/ScriptedModel") {}

type Json = Record<string, unknown>

const modelFor = {
  chat: (client: OpenAI) => new OpenAIChatCompletionsModel(client, "scripted"),
  responses: (client: OpenAI) => new OpenAIResponsesModel(client, "scripted")
}

const suite = Layer.mergeAll(
  Layer.effect(Mcp, serveMcp).pipe(Layer.provideMerge(servicesLayer(PgDatabase.layerPglite()))),
  Layer.effect(Model, ScriptedModel.scoped)
)

/** The SDK's client for `user`, connected for the length of the scope. */
const sdkServer = (mcp: TaskportMcp, user: string) =>
  Effect.gen(function* () {
    const token = yield* mcp.tokenFor(user)
    return yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const server = new MCPServerStreamableHttp({
          url: mcp.url,
          name: "taskport",
          // The model then reads the task as JSON rather than the summary line.
          useStructuredContent: true,
          requestInit: { headers: { authorization: `Bearer ${token}` } }
        })
        await server.connect()
        return server
      }),
      (server) => Effect.promise(() => server.close())
    )
  })

interface OfferedTool {
  readonly name: string
  readonly parameters: Json
  readonly strict: unknown
}

/** The tools a request offered, from either API's shape (Chat Completions nests them in `function`). */
const offeredTools = (request: RecordedRequest): Array<OfferedTool> =>
  (request.body.tools as Array<Json>).map((tool) => {
    const fn = (tool.function ?? tool) as Json
    return { name: String(fn.name), parameters: fn.parameters as Json, strict: fn.strict }
  })

/** Arguments as a strict-mode model writes them: every key the offered tool declares, null unless given. */
const strictShaped = (request: RecordedRequest, tool: string, given: Json = {}): Json => {
  const offered = offeredTools(request).find((candidate) => candidate.name === tool)
  const properties = (offered?.parameters.properties ?? {}) as Json
  return { ...Object.fromEntries(Object.keys(properties).map((key) => [key, null])), ...given }
}

/** The tool results a request carried back to the model, from either API's shape. */
const toolOutputs = (request: RecordedRequest) => [
  ...chatMessages(request)
    .filter((message) => message.role === "tool")
    .map((message) => String(message.content)),
  ...(Array.isArray(request.body.input) ? (request.body.input as Array<Json>) : [])
    .filter((item) => item.type === "function_call_output")
    .map((item) => (typeof item.output === "string" ? item.output : JSON.stringify(item.output)))
]

describe("OpenAI Agents SDK against Taskport's /mcp", () => {
  let logged: Array<MockInstance>
  beforeEach(() => {
    logged = [vi.spyOn(console, "warn"), vi.spyOn(console, "error")]
  })
  afterEach(() => {
    for (const spy of logged) spy.mockRestore()
  })
  const messages = () => logged.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" ")))

  layer(suite, { timeout: 120_000 })((it) => {
    it.effect("M15: with strict conversion on, every tool is strict and nothing is logged", () =>
      Effect.gen(function* () {
        const server = yield* sdkServer(yield* Mcp, `user-${crypto.randomUUID()}`)
        const tools = yield* Effect.promise(() =>
          getAllMcpTools({ mcpServers: [server], convertSchemasToStrict: true })
        )
        expect(tools.map((tool) => tool.name).sort()).toEqual([...todoToolNames].sort())
        for (const tool of tools) {
          expect(tool.type, tool.name).toBe("function")
          if (tool.type !== "function") continue
          expect(tool.strict, tool.name).toBe(true)
          expect(tool.parameters.additionalProperties, tool.name).toBe(false)
        }
        expect(messages()).toEqual([])
      }).pipe(Effect.scoped)
    )

    for (const api of ["chat", "responses"] as const)
      it.effect(
        `M16 (${api}): an agent turn creates and lists a task with strict-shaped arguments Taskport accepts`,
        () =>
          Effect.gen(function* () {
            const user = `user-${crypto.randomUUID()}`
            const mcp = yield* Mcp
            const server = yield* sdkServer(mcp, user)
            mcp.calls.length = 0
            const model = yield* Model
            model.script([
              (request) => ({
                toolCalls: [
                  {
                    name: "todo_create",
                    arguments: strictShaped(request, "todo_create", { title: "Buy milk" })
                  }
                ]
              }),
              (request) => ({
                toolCalls: [{ name: "todo_list", arguments: strictShaped(request, "todo_list") }]
              }),
              { reply: "Added “Buy milk”; it is your only task." }
            ])
            const agent = new Agent({
              name: "Taskport assistant",
              instructions: "Manage the user's tasks with the tools.",
              model: (api === "chat" ? modelFor.chat : modelFor.responses)(
                new OpenAI({ apiKey: "test-key", baseURL: model.baseURL, maxRetries: 0 })
              ),
              mcpServers: [server],
              mcpConfig: { convertSchemasToStrict: true }
            })
            const result = yield* Effect.promise(() => run(agent, "Add buy milk, then show my tasks"))
            expect(result.finalOutput).toBe("Added “Buy milk”; it is your only task.")

            // The model was offered strict tools, and its calls carried every key.
            const [first, second, third] = model.requests
            expect(first!.path).toBe(api === "chat" ? "/v1/chat/completions" : "/v1/responses")
            const offered = offeredTools(first!)
            expect(offered.map((tool) => tool.name)).toContain("todo_create")
            expect(offered.every((tool) => tool.strict === true)).toBe(true)
            expect(Object.values(strictShaped(first!, "todo_create"))).toContain(null)

            // What Taskport received: the SDK drops the nulls it added for optional keys and keeps
            // those that are values of the field (clearing a description, say), which Taskport takes.
            expect(mcp.calls.map((call) => call.name)).toEqual(["todo_create", "todo_list"])
            const sentCreate = mcp.calls[0]!.arguments as Json
            expect(sentCreate.title).toBe("Buy milk")
            const listedTools = yield* Effect.promise(() => server.listTools())
            const createSchema = listedTools.find((tool) => tool.name === "todo_create")!.inputSchema as {
              properties: Record<string, Json>
            }
            for (const [key, value] of Object.entries(sentCreate)) {
              expect(Object.keys(createSchema.properties), key).toContain(key)
              if (value === null)
                expect(JSON.stringify(createSchema.properties[key]), key).toContain('"null"')
            }

            // Taskport stored the task and listed it back; no call came back as an error.
            const [created, listed] = toolOutputs(third!).map((output) => JSON.parse(output) as Json)
            expect(toolOutputs(second!)).toHaveLength(1)
            expect(created).toMatchObject({
              title: "Buy milk",
              priority: "medium",
              completed: false,
              version: 1
            })
            expect(listed).toEqual({ items: [created], next_cursor: null })
            const stored = yield* as(UserId.make(user))(allTasks)
            expect(stored.map((task) => [task.title, task.priority, task.description])).toEqual([
              ["Buy milk", "medium", null]
            ])
            expect(messages()).toEqual([])
          }).pipe(Effect.scoped)
      )
  })
})
