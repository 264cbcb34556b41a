/**
 * OpenAI strict mode for tool parameters: variants derived from the core's todo tool schemas
 * (closed objects, every key required, optional fields nullable, null meaning absent, limits
 * still enforced on decoding) and from tools known only by their JSON Schema.
 */
import { describe, expect, it } from "@effect/vitest"
import { StrictParameters } from "@taskport/agent"
import { todoToolDefinitions, todoToolNames } from "@taskport/core"
import { Effect } from "effect"

type Json = Record<string, unknown>

const strict = (name: string) =>
  StrictParameters.strictVariant(todoToolDefinitions.find((tool) => tool.name === name)!)!

/** Walks every object schema of a JSON Schema document. */
const objects = (schema: unknown): Array<Json> => {
  if (Array.isArray(schema)) return schema.flatMap(objects)
  if (typeof schema !== "object" || schema === null) return []
  const node = schema as Json
  const own = node.type === "object" ? [node] : []
  return [...own, ...Object.values(node).flatMap(objects)]
}

describe("strict tool parameters", () => {
  it("C8: every todo_* tool has a strict variant: closed objects, every key required, optional ones nullable", () => {
    expect(todoToolDefinitions.map((tool) => tool.name).sort()).toEqual([...todoToolNames].sort())
    for (const tool of todoToolDefinitions) {
      expect(tool.description.length, tool.name).toBeGreaterThan(10)
      expect(tool.parameters.type).toBe("object")
      const schema = StrictParameters.strictVariant(tool)!.schema
      expect(schema.type).toBe("object")
      for (const object of objects(schema)) {
        expect(object.additionalProperties, tool.name).toBe(false)
        expect([...((object.required as Array<string>) ?? [])].sort()).toEqual(
          Object.keys((object.properties as Json) ?? {}).sort()
        )
      }
    }
    const create = strict("todo_create").schema.properties as Record<string, Json>
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
        const create = strict("todo_create")
        expect(
          yield* create.toArguments({
            title: "  Buy milk ",
            description: null,
            priority: null,
            due: null,
            tags: null
          })
        ).toEqual({
          title: "Buy milk",
          description: null,
          priority: "medium",
          due: null,
          tags: [],
          recurrence: null,
          reminder: null
        })
        const update = strict("todo_update")
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
        const city = StrictParameters.strictParametersFromJsonSchema({
          type: "object",
          properties: { city: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1 } },
          required: ["city"]
        })!
        expect(city.schema).toMatchObject({ additionalProperties: false, required: ["city", "days"] })
        expect(yield* city.toArguments({ city: "Paris", days: null })).toEqual({ city: "Paris" })
        expect((yield* Effect.flip(city.toArguments({ city: "", days: null }))).message).toContain("city")
        // An object that merely allows extra keys is offered closed; one without parameters too.
        const open = StrictParameters.strictParametersFromJsonSchema({
          type: "object",
          properties: { q: { type: "string" } },
          additionalProperties: true
        })!
        expect(open.schema).toMatchObject({ additionalProperties: false, required: ["q"] })
        const none = StrictParameters.strictParametersFromJsonSchema({
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
        expect(
          StrictParameters.strictParametersFromJsonSchema({ $ref: "https://example.com/elsewhere.json" })
        ).toBeUndefined()
      })
  )
})
