/**
 * Task events over MCP, for both protocol eras: a change made through a tool is recorded with
 * the client's name and version (a 2026-07-28 request's own _meta; a 2025-era stateless call
 * is known by its user agent), the
 * history is readable through `todo_history` and the `todo://events` resources, and never
 * shows another user's changes.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/client"
import { McpHttp } from "@taskport/mcp"
import { connect, type Era } from "@taskport/test-support/McpHarness"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect } from "effect"

type Json = Record<string, unknown>
type ToolResult = {
  isError?: boolean
  content: Array<{ type: string; text?: string }>
  structuredContent?: Json
}
interface Event {
  readonly type: string
  readonly task_id: number
  readonly actor: Json
}

const call = (client: Client, name: string, args: Json) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<ToolResult>)

const readJson = (client: Client, uri: string) =>
  Effect.promise(async () => {
    const result = await client.readResource({ uri })
    const first = result.contents[0] as { text?: string } | undefined
    return JSON.parse(first?.text ?? "null") as { items: ReadonlyArray<Event> }
  })

for (const database of testDatabases()) {
  describe(`task events over MCP on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000 })((it) => {
      for (const era of ["legacy", "modern"] as const satisfies ReadonlyArray<Era>) {
        it.effect(
          `V8 V10 (${era}): tool changes carry the client's name and version (or user agent); the history reads them back`,
          () =>
            Effect.gen(function* () {
              const endpoint = yield* McpHttp.make({ allowedOrigins: [] })
              // Every request carries a user agent, as over a real socket.
              const handler = {
                ...endpoint,
                fetch: (request: Request) => {
                  const headers = new Headers(request.headers)
                  headers.set("user-agent", "legacy-agent/3.1")
                  return endpoint.fetch(new Request(request, { headers }))
                }
              }
              const user = newUser()
              const token = yield* tokenFor(user)
              const client = yield* connect(handler, token, era)
              // A 2026-07-28 request names its client itself; a 2025-era stateless call only its user agent.
              const expectedClient = era === "modern" ? "taskport-test/1.0.0" : "legacy-agent/3.1"
              const created = yield* call(client, "todo_create", { title: "Via MCP" })
              expect(created.isError).toBeFalsy()
              const id = (created.structuredContent as { id: number }).id
              yield* call(client, "todo_update", { id, title: "Via MCP, renamed" })

              const history = yield* call(client, "todo_history", {})
              expect(history.isError).toBeFalsy()
              const items = (history.structuredContent as { items: ReadonlyArray<Event> }).items
              expect(items.map((event) => event.type)).toEqual(["task.updated", "task.created"])
              for (const event of items) {
                expect(event.actor).toEqual({
                  surface: "mcp",
                  client: expectedClient,
                  conversation_id: null,
                  tool_call_id: null
                })
              }
              const text = history.content.map((block) => block.text ?? "").join("\n")
              expect(text).toMatch(/task\.updated #\d+ v2 via mcp \(title: "Via MCP" -> "Via MCP, renamed"\)/)

              const recent = yield* readJson(client, "todo://events")
              expect(recent.items.map((event) => event.type)).toEqual(["task.updated", "task.created"])
              const ofTask = yield* readJson(client, `todo://tasks/${id}/events`)
              expect(ofTask.items.every((event) => event.task_id === id)).toBe(true)
              expect(ofTask.items).toHaveLength(2)

              // Another user's client sees none of it, and the task's history is not found for them.
              const other = yield* connect(handler, yield* tokenFor(newUser()), era)
              const theirs = yield* call(other, "todo_history", {})
              expect((theirs.structuredContent as { items: ReadonlyArray<Event> }).items).toEqual([])
              const foreign = yield* call(other, "todo_history", { task_id: id })
              expect(foreign.isError).toBe(true)
              expect(foreign.content[0]?.text).toMatch(/not found/)
              const bad = yield* call(client, "todo_history", { type: "task.exploded" })
              expect(bad.isError).toBe(true)
              expect(bad.content[0]?.text).toMatch(/type/)

              // The same history over REST: one outbox for every surface.
              const app = yield* makeApp()
              const rest = yield* send(app, "GET", `/api/v1/tasks/${id}/events`, { token })
              expect((rest.body as { items: ReadonlyArray<Event> }).items.map((event) => event.type)).toEqual(
                ["task.updated", "task.created"]
              )
            })
        )
      }
    })
  })
}
