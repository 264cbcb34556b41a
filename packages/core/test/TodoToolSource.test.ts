/**
 * The todo tools as an agent's tool source: OpenAI strict variants derived from the tool
 * schemas (closed objects, every key required, optional fields nullable, null meaning
 * absent, limits still enforced on decoding), and calls bound to the current user whose
 * failures all come back as readable `is_error` results.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import {
  strictParametersFromJsonSchema,
  TodoToolsLayer,
  type ToolSource,
  todoToolDefinitions,
  todoToolSource
} from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { Effect, Layer } from "effect"
import { as, newUser } from "../../../test/support/ChatHarness.ts"

type Json = Record<string, unknown>

const definition = (name: string) => todoToolDefinitions.find((tool) => tool.name === name)!

/** Walks every object schema of a JSON Schema document. */
const objects = (schema: unknown): Array<Json> => {
  if (Array.isArray(schema)) return schema.flatMap(objects)
  if (typeof schema !== "object" || schema === null) return []
  const node = schema as Json
  const own = node.type === "object" ? [node] : []
  return [...own, ...Object.values(node).flatMap(objects)]
}

describe("todo tool definitions", () => {
  it("C8: every todo_* tool has a strict variant: closed objects, every key required, optional ones nullable", () => {
    expect(todoToolDefinitions.map((tool) => tool.name).sort()).toEqual([
      "todo_complete",
      "todo_create",
      "todo_delete",
      "todo_list",
      "todo_read",
      "todo_update"
    ])
    for (const tool of todoToolDefinitions) {
      expect(tool.description.length, tool.name).toBeGreaterThan(10)
      expect(tool.parameters.type).toBe("object")
      const strict = tool.strict!.schema
      expect(strict.type).toBe("object")
      for (const object of objects(strict)) {
        expect(object.additionalProperties, tool.name).toBe(false)
        expect([...((object.required as Array<string>) ?? [])].sort()).toEqual(
          Object.keys((object.properties as Json) ?? {}).sort()
        )
      }
    }
    const create = definition("todo_create").strict!.schema.properties as Record<string, Json>
    expect(create.title!.type).toBe("string")
    // Nullable once, even for fields where null is also a value.
    expect(create.description!.anyOf).toEqual([expect.objectContaining({ type: "string" }), { type: "null" }])
    expect(create.priority!.anyOf).toEqual([
      expect.objectContaining({ enum: ["low", "medium", "high"] }),
      { type: "null" }
    ])
  })

  it.effect(
    "C8: strict arguments decode with null meaning absent, and limits strict mode cannot state still hold",
    () =>
      Effect.gen(function* () {
        const create = definition("todo_create").strict!
        expect(
          yield* create.toArguments({
            title: "  Buy milk ",
            description: null,
            priority: null,
            due: null,
            tags: null
          })
        ).toEqual({ title: "Buy milk", description: null, priority: "medium", due: null, tags: [] })
        const update = definition("todo_update").strict!
        expect(
          yield* update.toArguments({
            id: 4,
            title: null,
            description: "",
            priority: "high",
            due: null,
            tags: ["Home"],
            expected_version: null
          })
        ).toEqual({ id: 4, description: null, priority: "high", tags: ["home"] })
        const tooLong = yield* Effect.flip(
          create.toArguments({
            title: "x".repeat(201),
            description: null,
            priority: "urgent",
            due: null,
            tags: null
          })
        )
        expect(tooLong._tag).toBe("InvalidToolArguments")
        expect(tooLong.message).toContain("title")
        expect(tooLong.message).toContain("priority")
        const notObject = yield* Effect.flip(create.toArguments("title"))
        expect(notObject.message).toMatch(/^Invalid arguments/)
      })
  )

  it.effect(
    "C8: a tool known only by JSON Schema gets a strict variant too, or none when it cannot be expressed",
    () =>
      Effect.gen(function* () {
        const strict = strictParametersFromJsonSchema({
          type: "object",
          properties: { city: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1 } },
          required: ["city"]
        })!
        expect(strict.schema).toMatchObject({ additionalProperties: false, required: ["city", "days"] })
        expect(yield* strict.toArguments({ city: "Paris", days: null })).toEqual({ city: "Paris" })
        expect((yield* Effect.flip(strict.toArguments({ city: "", days: null }))).message).toContain("city")
        // An object that merely allows extra keys is offered closed; one without parameters too.
        const open = strictParametersFromJsonSchema({
          type: "object",
          properties: { q: { type: "string" } },
          additionalProperties: true
        })!
        expect(open.schema).toMatchObject({ additionalProperties: false, required: ["q"] })
        const none = strictParametersFromJsonSchema({
          type: "object",
          properties: {},
          additionalProperties: true
        })!
        expect(none.schema).toEqual({
          type: "object",
          properties: {},
          required: [],
          additionalProperties: false
        })
        expect(yield* none.toArguments({})).toEqual({})
        expect(strictParametersFromJsonSchema({ $ref: "https://example.com/elsewhere.json" })).toBeUndefined()
      })
  )
})

describe("todo tool source", () => {
  const database = PgDatabase.layerPglite()
  layer(TodoToolsLayer.pipe(Layer.provideMerge(database)), {
    timeout: 120_000
  })((it) => {
    const source = (user: ReturnType<typeof newUser>) => as(user)(todoToolSource)
    const call = (tools: ToolSource, name: string, args: unknown) => tools.call(name, args)

    it.effect("C8: calls run for the bound user and every failure is a readable is_error result", () =>
      Effect.gen(function* () {
        const alice = yield* source(newUser())
        const bob = yield* source(newUser())
        const created = yield* call(alice, "todo_create", { title: "Alice's secret" })
        expect(created.is_error).toBe(false)
        expect(created.result).toMatchObject({ title: "Alice's secret", completed: false, version: 1 })
        const id = (created.result as { id: number }).id

        const invalid = yield* call(alice, "todo_create", { title: "", priority: "urgent" })
        expect(invalid.is_error).toBe(true)
        expect(invalid.result).toMatch(/^Invalid arguments for todo_create: .*title/)

        const foreign = yield* call(bob, "todo_read", { id })
        expect(foreign).toEqual({
          is_error: true,
          result: `Task ${id} not found; list the tasks to find the right id`
        })
        const foreignDelete = yield* call(bob, "todo_delete", { id })
        expect(foreignDelete.is_error).toBe(true)
        expect((yield* call(alice, "todo_read", { id })).is_error).toBe(false)

        const unknown = yield* call(alice, "todo_archive", { id })
        expect(unknown).toEqual({ is_error: true, result: "There is no tool named todo_archive" })

        const conflict = yield* call(alice, "todo_update", { id, title: "x", expected_version: 9 })
        expect(conflict.is_error).toBe(true)
        expect(conflict.result).toContain("version")

        const listed = yield* call(bob, "todo_list", {})
        expect(listed).toEqual({ is_error: false, result: { items: [], next_cursor: null } })
        const badCursor = yield* call(alice, "todo_list", { cursor: "nonsense" })
        expect(badCursor.is_error).toBe(true)
        expect(badCursor.result).toContain("cursor")
      })
    )
  })
})
