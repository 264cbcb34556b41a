/**
 * The todo tools as an agent's tool source: definitions carrying the JSON Schema and the
 * Effect schema of each tool (and nothing of a model's dialect), calls bound to the current
 * user whose failures all come back as readable `is_error` results, and the tool-source
 * conformance suite.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import {
  TodoService,
  type TodoToolHandlers,
  TodoToolsLayer,
  type ToolSource,
  todoToolDefinitions,
  todoToolNames,
  todoToolSource,
  UserId
} from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { as } from "@taskport/test-support/ChatHarness"
import { ToolSourcesUnderTest, toolSourceSuite } from "@taskport/test-support/ToolSourceConformance"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer, Schema } from "effect"

const definition = (name: string) => todoToolDefinitions.find((tool) => tool.name === name)!

describe("todo tool definitions", () => {
  it("C8: every todo_* tool has its JSON Schema and the Effect schema behind it, and nothing of any model's dialect", () => {
    expect(todoToolDefinitions.map((tool) => tool.name).sort()).toEqual([...todoToolNames].sort())
    for (const tool of todoToolDefinitions) {
      expect(tool.description.length, tool.name).toBeGreaterThan(10)
      expect(tool.parameters.type).toBe("object")
      expect(Object.keys(tool).sort()).toEqual(["description", "name", "parameters", "parametersSchema"])
      // The Effect schema is the one the JSON Schema was derived from.
      expect(Schema.isSchema(tool.parametersSchema)).toBe(true)
    }
    expect(() =>
      Schema.decodeUnknownSync(definition("todo_create").parametersSchema!)({ title: "" })
    ).toThrow(/title/)
  })
})

describe("todo tool source", () => {
  const database = PgDatabase.layerPglite()
  layer(TodoToolsLayer.pipe(Layer.provideMerge(TodoService.layer), Layer.provideMerge(database)), {
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

toolSourceSuite(
  "the core's todo tool source",
  Layer.effect(
    ToolSourcesUnderTest,
    Effect.gen(function* () {
      const handlers = yield* Effect.context<TodoToolHandlers>()
      return {
        forUser: (user: string) => as(UserId.make(user))(todoToolSource).pipe(Effect.provideContext(handlers))
      }
    })
  ).pipe(
    Layer.provide(
      TodoToolsLayer.pipe(Layer.provideMerge(TodoService.layer), Layer.provide(PgDatabase.layerPglite()))
    )
  )
)
