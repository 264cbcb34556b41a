/**
 * The TodoTools toolkit: its six tools with their behaviour hints and parameter schemas as
 * MCP and OpenAI receive them, and `runTodoTool`, the one entry point every surface uses to
 * run a tool against the real repositories.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import {
  CurrentUser,
  describeToolFailure,
  InvalidCursor,
  InvalidParameters,
  runTodoTool,
  Task,
  TodoService,
  TodoTools,
  TodoToolsLayer,
  type ToolFailure,
  todoToolNames,
  todoToolParameterSchemas,
  UnknownTool,
  type UserId
} from "@taskport/core"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Context, Effect, Layer, Schema } from "effect"
import { Tool } from "effect/ai"

const as =
  (id: UserId) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, CurrentUser, { id })

const tools = Object.values(TodoTools.tools)

/** Every property name anywhere in a JSON Schema, nested objects and definitions included. */
const propertyNames = (schema: unknown): Array<string> => {
  if (Array.isArray(schema)) return schema.flatMap(propertyNames)
  if (typeof schema !== "object" || schema === null) return []
  return Object.entries(schema).flatMap(([key, value]) =>
    key === "properties" && typeof value === "object" && value !== null
      ? [...Object.keys(value), ...Object.values(value).flatMap(propertyNames)]
      : propertyNames(value)
  )
}

const invalidMessage = (failure: ToolFailure): string => {
  if (failure._tag !== "InvalidParameters") throw new Error(`expected InvalidParameters, got ${failure._tag}`)
  return failure.message
}

/** Every object schema inside a JSON Schema document, the root included. */
const objectSchemas = (schema: unknown): ReadonlyArray<Record<string, unknown>> => {
  if (typeof schema !== "object" || schema === null) return []
  const children = Object.values(schema).flatMap(objectSchemas)
  return (schema as Record<string, unknown>).type === "object"
    ? [schema as Record<string, unknown>, ...children]
    : children
}

describe("TodoTools definitions", () => {
  it("K1: every tool's parameter objects are closed, so strict clients can call them", () => {
    for (const name of todoToolNames) {
      const objects = objectSchemas(todoToolParameterSchemas[name])
      expect(objects.length, name).toBeGreaterThan(0)
      for (const object of objects) expect(object.additionalProperties, name).toBe(false)
    }
  })

  it("R13 W5 W17 V10: the toolkit has exactly the nine todo_* tools", () => {
    const expected = [
      "todo_batch",
      "todo_complete",
      "todo_create",
      "todo_delete",
      "todo_history",
      "todo_list",
      "todo_read",
      "todo_restore",
      "todo_update"
    ]
    expect(Object.keys(TodoTools.tools).sort()).toEqual(expected)
    expect([...todoToolNames].sort()).toEqual(expected)
    expect(tools.map((tool) => tool.name).sort()).toEqual(expected)
  })

  it("R13: each tool carries its read-only, destructive, idempotent and closed-world hints", () => {
    const hints = Object.fromEntries(
      tools.map((tool) => [
        tool.name,
        {
          readOnly: Context.get(tool.annotations, Tool.Readonly),
          destructive: Context.get(tool.annotations, Tool.Destructive),
          idempotent: Context.get(tool.annotations, Tool.Idempotent),
          openWorld: Context.get(tool.annotations, Tool.OpenWorld)
        }
      ])
    )
    expect(hints).toEqual({
      todo_create: { readOnly: false, destructive: false, idempotent: false, openWorld: false },
      todo_read: { readOnly: true, destructive: false, idempotent: true, openWorld: false },
      todo_update: { readOnly: false, destructive: false, idempotent: false, openWorld: false },
      todo_delete: { readOnly: false, destructive: true, idempotent: true, openWorld: false },
      todo_list: { readOnly: true, destructive: false, idempotent: true, openWorld: false },
      todo_complete: { readOnly: false, destructive: false, idempotent: true, openWorld: false },
      todo_restore: { readOnly: false, destructive: false, idempotent: true, openWorld: false },
      todo_batch: { readOnly: false, destructive: true, idempotent: false, openWorld: false },
      todo_history: { readOnly: true, destructive: false, idempotent: true, openWorld: false }
    })
    for (const tool of tools) {
      expect(Context.getUnsafe(tool.annotations, Tool.Title).length, tool.name).toBeGreaterThan(0)
      expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(0)
    }
  })

  it("R13: every parameter schema is an object at the root, as MCP and OpenAI require", () => {
    const required = Object.fromEntries(
      tools.map((tool) => {
        const schema = Tool.getJsonSchema(tool)
        expect(schema.type, tool.name).toBe("object")
        expect(schema.$ref, tool.name).toBeUndefined()
        return [tool.name, schema.required ?? []]
      })
    )
    expect(required).toEqual({
      todo_create: ["title"],
      todo_read: ["id"],
      todo_update: ["id"],
      todo_delete: ["id"],
      todo_list: [],
      todo_complete: ["id"],
      todo_restore: ["id"],
      todo_batch: ["items"],
      todo_history: []
    })
  })

  it("R13: no parameter names a user; identity comes only from the context", () => {
    for (const tool of tools) {
      const names = propertyNames(Tool.getJsonSchema(tool))
      expect(names.length, tool.name).toBeGreaterThan(0)
      expect(
        names.filter((name) => /user|owner/i.test(name)),
        tool.name
      ).toEqual([])
    }
  })
})

for (const database of testDatabases()) {
  describe(`runTodoTool on ${database.name}`, () => {
    const handlers = TodoToolsLayer.pipe(Layer.provideMerge(database.layer()))

    layer(handlers, { timeout: 120_000 })((it) => {
      it.effect("R13: a successful call returns the typed result and its JSON encoding", () =>
        Effect.gen(function* () {
          const created = yield* runTodoTool("todo_create", {
            title: "  Buy milk ",
            due: "2026-12-01T09:00[Europe/Paris]",
            tags: ["Shop", "shop"]
          })
          const encoded = created.encoded as Record<string, unknown>
          expect(encoded).toMatchObject({
            title: "Buy milk",
            priority: "medium",
            completed: false,
            due: "2026-12-01T09:00:00.000+01:00[Europe/Paris]",
            tags: ["shop"],
            version: 1
          })
          // Ready to send: plain JSON that decodes back to the same task.
          expect(JSON.parse(JSON.stringify(encoded))).toEqual(encoded)
          expect(Schema.decodeUnknownSync(Task)(encoded)).toEqual(created.value)

          const page = yield* runTodoTool("todo_list", { limit: 1 })
          expect(page.encoded).toEqual({ items: [encoded], next_cursor: null })
        }).pipe(as(newUser()))
      )

      it.effect("R13: tools and TodoService share one set of handlers and one store", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const viaTool = (yield* runTodoTool("todo_create", { title: "via tool" })).value as Task
          const viaService = yield* todos.create({ title: "via service" })

          expect(yield* todos.read({ id: viaTool.id })).toEqual(viaTool)
          expect((yield* runTodoTool("todo_read", { id: viaService.id })).value).toEqual(viaService)

          const updated = (yield* runTodoTool("todo_update", {
            id: viaService.id,
            priority: "high",
            expected_version: 1
          })).value as Task
          expect(updated).toMatchObject({ priority: "high", version: 2 })
          const completed = (yield* runTodoTool("todo_complete", { id: viaService.id })).value as Task
          expect(completed).toMatchObject({ completed: true, version: 3 })
          expect(yield* todos.read({ id: viaService.id })).toEqual(completed)

          expect((yield* runTodoTool("todo_delete", { id: viaTool.id })).value).toEqual(viaTool)
          expect((yield* todos.list({})).items.map((task) => task.id)).toEqual([viaService.id])
        }).pipe(as(newUser()))
      )

      it.effect("R12 R13: invalid parameters are reported with the field they concern", () =>
        Effect.gen(function* () {
          const cases: ReadonlyArray<readonly [string, unknown, string]> = [
            ["todo_create", { title: "   " }, "title"],
            ["todo_create", { title: "t", tags: ["x".repeat(33)] }, "tags.0"],
            ["todo_create", {}, "title"],
            ["todo_create", { title: "t", titel: "typo" }, "titel"],
            ["todo_read", { id: "1" }, "id"],
            ["todo_read", [1], ""],
            ["todo_update", { id: 1, priority: "urgent" }, "priority"],
            ["todo_update", { id: 1, due: "2026-02-30" }, "due"],
            ["todo_complete", { id: 1, completed: "yes" }, "completed"],
            ["todo_list", { limit: 0 }, "limit"]
          ]
          for (const [name, params, field] of cases) {
            const failure = yield* Effect.flip(runTodoTool(name, params))
            expect(failure, `${name} ${JSON.stringify(params)}`).toBeInstanceOf(InvalidParameters)
            const issues = (failure as InvalidParameters).issues
            expect(
              issues.map((issue) => issue.field),
              `${name} ${JSON.stringify(params)}`
            ).toContain(field)
            expect(invalidMessage(failure)).toContain(field === "" ? "Expected" : `${field}: `)
          }
          // A cursor no listing handed out is a failure of its own, named in words for the model.
          const cursor = yield* Effect.flip(runTodoTool("todo_list", { cursor: "not-a-cursor" }))
          expect(cursor).toBeInstanceOf(InvalidCursor)
          expect(describeToolFailure("todo_list", cursor)).toBe(
            "Invalid arguments for todo_list: cursor: is not a next_cursor from a listing with the same sort and order"
          )
        }).pipe(as(newUser()))
      )

      it.effect("R8 R13: a missing or foreign task is TaskNotFound with a plain message", () =>
        Effect.gen(function* () {
          const [alice, bob] = [newUser(), newUser()]
          const missing = yield* Effect.flip(runTodoTool("todo_read", { id: 42 })).pipe(as(bob))
          // Task 42 may exist for another user of this shared database; Bob is told the same.
          expect(missing).toMatchObject({ _tag: "TaskNotFound", id: 42 })
          expect((missing as { readonly message: string }).message).toBe("Task 42 not found")

          const secret = (yield* runTodoTool("todo_create", { title: "secret" }).pipe(as(alice)))
            .value as Task
          for (const [name, params] of [
            ["todo_read", { id: secret.id }],
            ["todo_update", { id: secret.id, title: "mine now" }],
            ["todo_complete", { id: secret.id }],
            ["todo_delete", { id: secret.id }]
          ] as const) {
            const failure = yield* Effect.flip(runTodoTool(name, params)).pipe(as(bob))
            expect(failure, name).toMatchObject({ _tag: "TaskNotFound", id: secret.id })
          }
          expect((yield* runTodoTool("todo_read", { id: secret.id }).pipe(as(alice))).value).toEqual(secret)
        })
      )

      it.effect("R5 R13: a stale expected_version is a VersionConflict", () =>
        Effect.gen(function* () {
          const task = (yield* runTodoTool("todo_create", { title: "contended" })).value as Task
          yield* runTodoTool("todo_update", { id: task.id, title: "first", expected_version: 1 })
          const failure = yield* Effect.flip(
            runTodoTool("todo_update", { id: task.id, title: "second", expected_version: 1 })
          )
          expect(failure).toMatchObject({
            _tag: "VersionConflict",
            id: task.id,
            expected_version: 1,
            current_version: 2
          })
        }).pipe(as(newUser()))
      )

      it.effect("R13: an unknown tool name is UnknownTool, inherited object keys included", () =>
        Effect.gen(function* () {
          for (const name of ["todo_fly", "constructor", "toString", ""]) {
            const failure = yield* Effect.flip(runTodoTool(name, {}))
            expect(failure).toBeInstanceOf(UnknownTool)
            expect(failure).toMatchObject({ _tag: "UnknownTool", name })
          }
        }).pipe(as(newUser()))
      )

      it.effect("R13: a user argument smuggled into the parameters is refused, never obeyed", () =>
        Effect.gen(function* () {
          const [alice, bob] = [newUser(), newUser()]
          const smuggled = yield* Effect.flip(
            runTodoTool("todo_create", { title: "whose?", user_id: bob, owner: bob }).pipe(as(alice))
          )
          expect((smuggled as InvalidParameters).issues.map((issue) => issue.field).sort()).toEqual([
            "owner",
            "user_id"
          ])
          const listed = yield* Effect.flip(runTodoTool("todo_list", { user_id: alice }).pipe(as(bob)))
          expect(listed).toBeInstanceOf(InvalidParameters)
          // Nothing was written for either user.
          expect((yield* runTodoTool("todo_list", {}).pipe(as(alice))).value.items).toEqual([])
          expect((yield* runTodoTool("todo_list", {}).pipe(as(bob))).value.items).toEqual([])
        })
      )
    })
  })
}
