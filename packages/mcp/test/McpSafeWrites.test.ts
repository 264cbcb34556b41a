/**
 * Safe writes over MCP through the official SDK client: the trash and `todo_restore`,
 * `expected_version` on every write (the conflict names both versions), `idempotency_key`
 * on the write tools, and tool descriptions that tell a model a delete can be undone.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/client"
import { McpHttp } from "@taskport/mcp"
import { connect } from "@taskport/test-support/McpHarness"
import { servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect } from "effect"

type Json = Record<string, unknown>
type ToolResult = {
  isError?: boolean
  content: Array<{ type: string; text?: string }>
  structuredContent?: Json
}

const call = (client: Client, name: string, args: Json) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<ToolResult>)
const text = (result: ToolResult) => result.content.map((block) => block.text ?? "").join("\n")

const session = Effect.gen(function* () {
  const handler = yield* McpHttp.make({})
  return yield* connect(handler, yield* tokenFor(`user-${crypto.randomUUID()}`), "modern")
})

for (const database of testDatabases()) {
  describe(`MCP safe writes on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000 })((it) => {
      it.effect(
        "W5: todo_delete says it can be undone; todo_restore brings the task back at version + 1",
        () =>
          Effect.gen(function* () {
            const client = yield* session
            const { tools } = yield* Effect.promise(() => client.listTools())
            const described = Object.fromEntries(tools.map((tool) => [tool.name, tool.description ?? ""]))
            expect(described.todo_delete).toMatch(/trash/)
            expect(described.todo_delete).toMatch(/todo_restore/)
            for (const name of [
              "todo_create",
              "todo_update",
              "todo_complete",
              "todo_delete",
              "todo_restore"
            ]) {
              const schema = tools.find((tool) => tool.name === name)?.inputSchema as { properties: Json }
              expect(Object.keys(schema.properties), name).toContain("idempotency_key")
            }

            const task = (yield* call(client, "todo_create", { title: "Buy milk" })).structuredContent!
            const deleted = yield* call(client, "todo_delete", { id: task.id })
            expect(deleted.structuredContent).toEqual(task)
            const trash = yield* call(client, "todo_list", { status: "trashed" })
            expect((trash.structuredContent!.items as Array<Json>).map((t) => t.id)).toEqual([task.id])
            const restored = yield* call(client, "todo_restore", { id: task.id })
            expect(restored.isError).toBeFalsy()
            expect(text(restored)).toMatch(/^Restored/)
            expect(restored.structuredContent).toMatchObject({ id: task.id, title: "Buy milk", version: 2 })
            const again = yield* call(client, "todo_restore", { id: task.id })
            expect(again.isError).toBe(true)
            expect(text(again)).toContain(`Task ${task.id} not found`)
          }).pipe(Effect.scoped)
      )

      it.effect(
        "W3: a stale expected_version on delete, complete and restore is refused naming both versions",
        () =>
          Effect.gen(function* () {
            const client = yield* session
            const task = (yield* call(client, "todo_create", { title: "Guarded" })).structuredContent!
            for (const [name, args] of [
              ["todo_delete", { id: task.id, expected_version: 4 }],
              ["todo_complete", { id: task.id, expected_version: 4 }],
              ["todo_update", { id: task.id, title: "x", expected_version: 4 }]
            ] as const) {
              const result = yield* call(client, name, args)
              expect(result.isError, name).toBe(true)
              expect(text(result)).toBe(`Task ${task.id} is at version 1, not 4; read it again and retry`)
            }
            yield* call(client, "todo_delete", { id: task.id, expected_version: 1 })
            const restore = yield* call(client, "todo_restore", { id: task.id, expected_version: 2 })
            expect(text(restore)).toBe(`Task ${task.id} is at version 1, not 2; read it again and retry`)
            const purge = yield* call(client, "todo_delete", {
              id: task.id,
              permanent: true,
              expected_version: 3
            })
            expect(purge.isError).toBe(true)
            const trash = yield* call(client, "todo_list", { status: "trashed" })
            expect((trash.structuredContent!.items as Array<Json>).map((t) => t.id)).toEqual([task.id])
          }).pipe(Effect.scoped)
      )

      it.effect(
        "W11: a retried call with idempotency_key replays; the key with other arguments is refused",
        () =>
          Effect.gen(function* () {
            const client = yield* session
            const first = yield* call(client, "todo_create", { title: "Pay rent", idempotency_key: "rent" })
            const retry = yield* call(client, "todo_create", { title: "Pay rent", idempotency_key: "rent" })
            expect(retry.structuredContent).toEqual(first.structuredContent)
            const other = yield* call(client, "todo_create", { title: "Other", idempotency_key: "rent" })
            expect(other.isError).toBe(true)
            expect(text(other)).toBe(
              "Invalid arguments for todo_create: idempotency_key: was already used for a different request; use a new key for a new request"
            )
            const bad = yield* call(client, "todo_create", { title: "Bad", idempotency_key: "" })
            expect(bad.isError).toBe(true)
            expect(text(bad)).toContain("idempotency_key")
            const listed = yield* call(client, "todo_list", {})
            expect((listed.structuredContent!.items as Array<Json>).map((t) => t.title)).toEqual(["Pay rent"])
          }).pipe(Effect.scoped)
      )

      it.effect("W17: todo_batch answers one result per item, in its structured content and its text", () =>
        Effect.gen(function* () {
          const client = yield* session
          const result = yield* call(client, "todo_batch", {
            items: [
              { op: "create", title: "First" },
              { op: "delete", id: 2_000_000_002 }
            ]
          })
          expect(result.isError).toBeFalsy()
          const results = result.structuredContent!.results as Array<Json>
          expect(results[0]).toMatchObject({ task: { title: "First", version: 1 }, failure: null })
          expect(results[1]).toEqual({
            task: null,
            failure: { error: "TaskNotFound", message: "Task 2000000002 not found" }
          })
          expect(text(result).split("\n")).toEqual([
            "Applied 1 of 2:",
            `0. #${(results[0]!.task as Json).id} "First" [open, v1]`,
            "1. TaskNotFound: Task 2000000002 not found"
          ])
          const tooMany = yield* call(client, "todo_batch", { items: [] })
          expect(tooMany.isError).toBe(true)
          expect(text(tooMany)).toContain("items")
        }).pipe(Effect.scoped)
      )
    })
  })
}
