/**
 * The MCP endpoint through the official SDK client, for both protocol eras: tool listing with
 * derived schemas and hints, every tool's round trip, bad arguments, another user's ids,
 * resources, read-only mode, the HTTP-level checks (401, 403, 413, GET/DELETE) and the
 * protected-resource metadata; request ids and the request log line (the same as REST's);
 * plus the size budget of what a client loads up front.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/client"
import type { RequestLog } from "@taskport/http"
import { McpHttp, TodoMcpServer } from "@taskport/mcp"
import { connect, ENDPOINT, type Era, MODERN_REVISION } from "@taskport/test-support/McpHarness"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Ajv2020 } from "ajv/dist/2020.js"
import { Effect } from "effect"

type Json = Record<string, unknown>
type ToolResult = {
  isError?: boolean
  content: Array<{ type: string; text?: string }>
  structuredContent?: Json
}

const call = (client: Client, name: string, args?: Json) =>
  Effect.promise(
    () => client.callTool(args === undefined ? { name } : { name, arguments: args }) as Promise<ToolResult>
  )

const text = (result: ToolResult) => result.content.map((block) => block.text ?? "").join("\n")

const endpoint = (options: Partial<McpHttp.McpHttpOptions> = {}) =>
  McpHttp.make({ allowedOrigins: ["http://localhost:3000"], ...options })

for (const database of testDatabases()) {
  describe(`MCP over HTTP on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000 })((it) => {
      for (const era of ["legacy", "modern"] as const satisfies ReadonlyArray<Era>) {
        it.effect(`M1 (${era}): tools/list shows the nine tools with titles, hints and object schemas`, () =>
          Effect.gen(function* () {
            const handler = yield* endpoint()
            const client = yield* connect(handler, yield* tokenFor(newUser()), era)
            const { tools } = yield* Effect.promise(() => client.listTools())
            expect(tools.map((tool) => tool.name).sort()).toEqual([
              "todo_batch",
              "todo_complete",
              "todo_create",
              "todo_delete",
              "todo_history",
              "todo_list",
              "todo_read",
              "todo_restore",
              "todo_update"
            ])
            for (const tool of tools) {
              expect(tool.inputSchema.type).toBe("object")
              expect(tool.outputSchema?.type).toBe("object")
              expect(tool.title).toBeTruthy()
              expect(tool.annotations?.openWorldHint).toBe(false)
              expect(JSON.stringify(tool.inputSchema)).not.toMatch(/user/i)
            }
            const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool.annotations]))
            expect(byName.todo_read).toMatchObject({
              readOnlyHint: true,
              idempotentHint: true,
              destructiveHint: false
            })
            expect(byName.todo_list).toMatchObject({ readOnlyHint: true, idempotentHint: true })
            expect(byName.todo_delete).toMatchObject({
              readOnlyHint: false,
              destructiveHint: true,
              idempotentHint: true
            })
            expect(byName.todo_complete).toMatchObject({ idempotentHint: true, destructiveHint: false })
            expect(byName.todo_create).toMatchObject({ readOnlyHint: false, idempotentHint: false })
            expect(client.getInstructions()).toContain("todo_list")
          }).pipe(Effect.scoped)
        )

        it.effect(
          `M2 (${era}): create, list, read, update, complete and delete round-trip with structured results`,
          () =>
            Effect.gen(function* () {
              const handler = yield* endpoint()
              const client = yield* connect(handler, yield* tokenFor(newUser()), era)
              const created = yield* call(client, "todo_create", { title: " Write report ", tags: ["Work"] })
              expect(created.isError).toBeFalsy()
              const task = created.structuredContent!
              expect(task).toMatchObject({
                title: "Write report",
                tags: ["work"],
                version: 1,
                completed: false
              })
              expect(text(created)).toContain(`#${task.id}`)

              const listed = yield* call(client, "todo_list")
              expect((listed.structuredContent!.items as Array<Json>).map((t) => t.id)).toEqual([task.id])
              const read = yield* call(client, "todo_read", { id: task.id as number })
              expect(read.structuredContent).toEqual(task)
              const updated = yield* call(client, "todo_update", {
                id: task.id as number,
                priority: "high",
                expected_version: 1
              })
              expect(updated.structuredContent).toMatchObject({ priority: "high", version: 2 })
              const conflict = yield* call(client, "todo_update", {
                id: task.id as number,
                title: "x",
                expected_version: 1
              })
              expect(conflict.isError).toBe(true)
              expect(text(conflict)).toContain("version")
              expect(conflict.structuredContent).toBeUndefined()
              const completed = yield* call(client, "todo_complete", { id: task.id as number })
              expect(completed.structuredContent).toMatchObject({ completed: true })
              const deleted = yield* call(client, "todo_delete", { id: task.id as number })
              expect(deleted.structuredContent).toMatchObject({ id: task.id })
              const gone = yield* call(client, "todo_read", { id: task.id as number })
              expect(gone.isError).toBe(true)
              expect(text(gone)).toBe(`Task ${task.id} not found; list the tasks to find the right id`)
            }).pipe(Effect.scoped)
        )

        it.effect(
          `M3 (${era}): bad arguments are isError results naming the field; omitted arguments mean {}`,
          () =>
            Effect.gen(function* () {
              const handler = yield* endpoint()
              const client = yield* connect(handler, yield* tokenFor(newUser()), era)
              const cases: Array<[string, Json, string]> = [
                ["todo_create", { title: "" }, "title"],
                ["todo_create", { title: "x".repeat(201) }, "title"],
                ["todo_create", { title: "ok", priority: "urgent" }, "priority"],
                ["todo_create", { title: "ok", due: "tomorrow" }, "due"],
                ["todo_create", { title: "ok", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, "tags"],
                ["todo_read", { id: "abc" }, "id"],
                ["todo_read", { id: 0 }, "id"],
                ["todo_update", { id: 1, expected_version: 0 }, "expected_version"],
                ["todo_list", { limit: 101 }, "limit"],
                ["todo_list", { cursor: "garbage" }, "cursor"],
                ["todo_complete", { id: 1, completed: "yes" }, "completed"]
              ]
              for (const [name, args, field] of cases) {
                const result = yield* call(client, name, args)
                expect(result.isError, `${name} ${JSON.stringify(args)}`).toBe(true)
                expect(text(result), `${name} ${JSON.stringify(args)}`).toContain(field)
                expect(result.structuredContent).toBeUndefined()
                expect(text(result)).not.toMatch(/\n\s+at |SELECT|INSERT/)
              }
              const missing = yield* call(client, "todo_create")
              expect(missing.isError).toBe(true)
              expect(text(missing)).toContain("title")
              const empty = yield* call(client, "todo_list")
              expect(empty.isError).toBeFalsy()
              expect(empty.structuredContent).toEqual({ items: [], next_cursor: null })
            }).pipe(Effect.scoped)
        )

        it.effect(`M4 (${era}): another user's task id is "not found" on every tool and never listed`, () =>
          Effect.gen(function* () {
            const handler = yield* endpoint()
            const owner = yield* connect(handler, yield* tokenFor(newUser()), era)
            const other = yield* connect(handler, yield* tokenFor(newUser()), era)
            const task = (yield* call(owner, "todo_create", { title: "secret" })).structuredContent!
            const id = task.id as number
            for (const [name, args] of [
              ["todo_read", { id }],
              ["todo_update", { id, title: "mine" }],
              ["todo_complete", { id }],
              ["todo_delete", { id }]
            ] as const) {
              const result = yield* call(other, name, args)
              expect(result.isError).toBe(true)
              expect(text(result)).toBe(`Task ${id} not found; list the tasks to find the right id`)
            }
            const listed = yield* call(other, "todo_list", { query: "secret" })
            expect(listed.structuredContent).toEqual({ items: [], next_cursor: null })
            const still = yield* call(owner, "todo_read", { id })
            expect(still.structuredContent).toEqual(task)
          }).pipe(Effect.scoped)
        )

        it.effect(`M5 (${era}): resources list the open tasks and read one by id, for the caller only`, () =>
          Effect.gen(function* () {
            const handler = yield* endpoint()
            const owner = yield* connect(handler, yield* tokenFor(newUser()), era)
            const other = yield* connect(handler, yield* tokenFor(newUser()), era)
            const open = (yield* call(owner, "todo_create", { title: "open one" })).structuredContent!
            const done = (yield* call(owner, "todo_create", { title: "done one" })).structuredContent!
            yield* call(owner, "todo_complete", { id: done.id as number })
            const list = yield* Effect.promise(() => owner.readResource({ uri: "todo://tasks" }))
            const page = JSON.parse(String((list.contents[0] as { text: string }).text)) as {
              items: Array<Json>
            }
            expect(page.items.map((t) => t.id)).toEqual([open.id])
            const one = yield* Effect.promise(() => owner.readResource({ uri: `todo://tasks/${open.id}` }))
            expect(JSON.parse(String((one.contents[0] as { text: string }).text))).toMatchObject({
              id: open.id
            })
            const foreign = yield* Effect.promise(() =>
              other.readResource({ uri: `todo://tasks/${open.id}` }).then(
                () => "read",
                () => "refused"
              )
            )
            expect(foreign).toBe("refused")
            const templates = yield* Effect.promise(() => owner.listResourceTemplates())
            expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain("todo://tasks/{id}")
          }).pipe(Effect.scoped)
        )
      }

      it.effect("M6: the read-only mode exposes only the read-only tools", () =>
        Effect.gen(function* () {
          const handler = yield* endpoint({ readOnly: true })
          const client = yield* connect(handler, yield* tokenFor(newUser()), "modern")
          const { tools } = yield* Effect.promise(() => client.listTools())
          expect(tools.map((tool) => tool.name).sort()).toEqual(["todo_history", "todo_list", "todo_read"])
          const refused = yield* Effect.promise(() =>
            client.callTool({ name: "todo_create", arguments: { title: "x" } }).then(
              (result) => (result.isError === true ? "refused" : "accepted"),
              () => "refused"
            )
          )
          expect(refused).toBe("refused")
        }).pipe(Effect.scoped)
      )

      it.effect(
        "M7: tools/list schemas compile as JSON Schema and accept exactly what the tools accept",
        () =>
          Effect.gen(function* () {
            const handler = yield* endpoint()
            const client = yield* connect(handler, yield* tokenFor(newUser()), "modern")
            const { tools } = yield* Effect.promise(() => client.listTools())
            const ajv = new Ajv2020({ strict: false })
            const validators = Object.fromEntries(
              tools.map((tool) => [tool.name, ajv.compile(tool.inputSchema)])
            )
            const samples: Array<[string, unknown]> = [
              ["todo_create", { title: "a" }],
              ["todo_create", { title: "" }],
              ["todo_create", { title: "a", description: null }],
              ["todo_create", { title: "a", priority: "low", tags: ["x"], due: "2026-12-01" }],
              ["todo_create", { title: "a", priority: "none" }],
              ["todo_create", { title: "a", tags: ["x".repeat(33)] }],
              ["todo_create", {}],
              ["todo_list", {}],
              ["todo_list", { limit: 0 }],
              ["todo_list", { limit: 100, status: "pending", sort: "due", order: "asc" }],
              ["todo_list", { status: "done" }],
              ["todo_read", { id: 1 }],
              ["todo_read", { id: -1 }],
              ["todo_read", { id: 1.5 }],
              ["todo_complete", { id: 1, completed: false }],
              ["todo_update", { id: 1, title: "b", expected_version: 2 }],
              ["todo_update", { id: 1, expected_version: 0 }]
            ]
            for (const [name, args] of samples) {
              const bySchema = validators[name]!(args)
              const result = yield* call(client, name, args as Json)
              // A call the schema accepts may still fail for other reasons (the task does not exist);
              // what must agree is whether the arguments themselves were refused.
              const refusedArguments =
                (result.isError === true && text(result).startsWith("Invalid arguments")) ||
                text(result).includes("Input validation error")
              expect(bySchema, `${name} ${JSON.stringify(args)}`).toBe(!refusedArguments)
            }
          }).pipe(Effect.scoped)
      )
    })
  })
}

describe("MCP over HTTP: the HTTP level", () => {
  layer(servicesLayer(testDatabases()[0]!.layer()), { timeout: 120_000 })((it) => {
    it.effect(
      "M8: 401 with a challenge naming the metadata, 403 for a foreign origin, 413 above 1 MiB, 405 for GET",
      () =>
        Effect.gen(function* () {
          const handler = yield* endpoint({ authorizationServers: ["https://auth.example.com"] })
          const token = yield* tokenFor(newUser())
          const initialize = JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "initialize",
            params: {
              protocolVersion: "2025-06-18",
              capabilities: {},
              clientInfo: { name: "raw", version: "1" }
            }
          })
          const post = (headers: Record<string, string>, body = initialize) =>
            Effect.promise(() =>
              handler.fetch(
                new Request(ENDPOINT, {
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
          const anonymous = yield* post({})
          expect(anonymous.status).toBe(401)
          const challenge = anonymous.headers.get("www-authenticate") ?? ""
          expect(challenge).toMatch(/^Bearer /)
          expect(challenge).toContain(
            'resource_metadata="http://taskport.test/.well-known/oauth-protected-resource/mcp"'
          )
          const forged = yield* post({ authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad" })
          expect(forged.status).toBe(401)
          expect(forged.headers.get("www-authenticate")).toContain("invalid_token")
          const foreign = yield* post({ authorization: `Bearer ${token}`, origin: "https://evil.example" })
          expect(foreign.status).toBe(403)
          const allowed = yield* post({ authorization: `Bearer ${token}`, origin: "http://localhost:3000" })
          expect(allowed.status).toBe(200)
          const big = yield* post(
            { authorization: `Bearer ${token}` },
            JSON.stringify({ padding: "x".repeat(1_100_000) })
          )
          expect(big.status).toBe(413)
          const get = yield* Effect.promise(() =>
            handler.fetch(
              new Request(ENDPOINT, {
                method: "GET",
                headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" }
              })
            )
          )
          expect(get.status).toBe(405)
          const metadata = yield* Effect.promise(() =>
            handler.metadata(new Request(`http://taskport.test${handler.metadataPath}`)).json()
          )
          expect(metadata).toEqual({
            resource: ENDPOINT,
            authorization_servers: ["https://auth.example.com"],
            bearer_methods_supported: ["header"],
            resource_name: "Taskport"
          })
          expect(handler.metadataPath).toBe("/.well-known/oauth-protected-resource/mcp")
        })
    )

    it.effect(
      `M9: the tool list and instructions stay within the context budget (${MODERN_REVISION} client)`,
      () =>
        Effect.gen(function* () {
          const handler = yield* endpoint()
          const client = yield* connect(handler, yield* tokenFor(newUser()), "modern")
          const { tools } = yield* Effect.promise(() => client.listTools())
          const characters = JSON.stringify(tools).length + (client.getInstructions()?.length ?? 0)
          const tokens = Math.ceil(characters / 4)
          console.info(`MCP tools/list + instructions: ${characters} characters, about ${tokens} tokens`)
          // Budget: 6,000 tokens, under 5% of a 128k context window, for nine tools whose schemas
          // carry every field's limits and descriptions. Growing past it means trimming text.
          expect(tokens).toBeLessThanOrEqual(6_000)
          expect(TodoMcpServer.INSTRUCTIONS.length).toBeLessThan(1_000)
        }).pipe(Effect.scoped)
    )
  })
})

describe("MCP over HTTP: request ids and the request log", () => {
  layer(servicesLayer(testDatabases()[0]!.layer()), { timeout: 120_000 })((it) => {
    const listTools = (token: string, headers: Record<string, string> = {}) =>
      new Request(ENDPOINT, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-06-18",
          ...headers
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} })
      })

    it.effect("O6: every answer carries X-Request-Id: the caller's when valid, else a fresh one", () =>
      Effect.gen(function* () {
        const handler = yield* endpoint()
        const token = yield* tokenFor(newUser())
        const echoed = yield* Effect.promise(() =>
          handler.fetch(listTools(token, { "x-request-id": "trace-42" }))
        )
        expect(echoed.status).toBe(200)
        expect(echoed.headers.get("x-request-id")).toBe("trace-42")
        const generated = yield* Effect.promise(() => handler.fetch(listTools(token)))
        expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
        // A header that could forge log fields is replaced, not echoed.
        const forged = yield* Effect.promise(() =>
          handler.fetch(listTools(token, { "x-request-id": 'a" level="error' }))
        )
        expect(forged.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
        // Refusals before any JSON-RPC work carry one too.
        const anonymous = yield* Effect.promise(() =>
          handler.fetch(listTools(token, { authorization: "", "x-request-id": "trace-43" }))
        )
        expect(anonymous.status).toBe(401)
        expect(anonymous.headers.get("x-request-id")).toBe("trace-43")
      })
    )

    it.effect("O7: each request is logged in one line with its id and the same fields as REST's", () =>
      Effect.gen(function* () {
        const user = newUser()
        const token = yield* tokenFor(user)
        const mcpLines: Array<RequestLog.LogEntry> = []
        const handler = yield* endpoint({ log: (entry) => mcpLines.push(entry) })
        const reply = yield* Effect.promise(() =>
          handler.fetch(listTools(token, { "x-request-id": "trace-44" }))
        )
        expect(reply.status).toBe(200)
        expect(mcpLines).toHaveLength(1)
        const line = mcpLines[0]!
        expect(line).toMatchObject({
          level: "info",
          msg: "request",
          request_id: "trace-44",
          method: "POST",
          path: "/mcp",
          status: 200,
          user
        })
        expect(typeof line.duration_ms).toBe("number")

        const restLines: Array<RequestLog.LogEntry> = []
        const app = yield* makeApp({ log: (entry) => restLines.push(entry) })
        yield* send(app, "GET", "/api/v1/tasks", { token })
        expect(restLines).toHaveLength(1)
        expect(Object.keys(line).sort()).toEqual(Object.keys(restLines[0]!).sort())
      })
    )
  })
})
