/**
 * The tool specifications the MCP server registers: their output schemas skip only what the
 * tools encoded themselves, and validate anything else in full; todo_list's describe what MCP
 * adds to it (previews, the truncated flag, full_descriptions).
 */
import { describe, expect, it } from "@effect/vitest"
import { TodoMcpServer } from "@taskport/mcp"

const spec = (name: string) => {
  const found = TodoMcpServer.toolSpecs.find((candidate) => candidate.name === name)
  if (found === undefined) throw new Error(`no spec for ${name}`)
  return found
}

const task = {
  id: 7,
  title: "Buy milk",
  description: null,
  priority: "medium",
  completed: false,
  completed_at: null,
  due: null,
  tags: [],
  recurrence: null,
  reminder: null,
  remind_at: null,
  next_occurrence_id: null,
  version: 1,
  created_at: "2026-11-30T08:00:00.000Z",
  updated_at: "2026-11-30T08:00:00.000Z"
}

describe("TodoMcpServer tool specifications", () => {
  it("M14: an output schema validates in full any result the tools did not encode themselves", async () => {
    const output = spec("todo_read").output["~standard"]
    expect((await output.validate(task)).issues).toBeUndefined()
    for (const broken of [
      { ...task, id: "7" },
      { ...task, title: "" },
      { ...task, priority: "urgent" },
      { ...task, tags: ["x".repeat(33)] },
      { ...task, due: "tomorrow" },
      { items: [] }
    ]) {
      const result = await output.validate(broken)
      expect(result.issues?.length ?? 0).toBeGreaterThan(0)
    }
    const page = spec("todo_list").output["~standard"]
    expect((await page.validate({ items: [task], next_cursor: null })).issues).toBeUndefined()
    expect(
      (await page.validate({ items: [{ ...task, version: 0 }], next_cursor: null })).issues?.length
    ).toBe(1)
  })

  it("M21: todo_list's MCP schemas describe previews, the truncated flag and full_descriptions", async () => {
    const page = spec("todo_list").output["~standard"]
    const preview = { ...task, description: "Some notes…", description_truncated: true }
    expect(
      (await page.validate({ items: [preview], next_cursor: "abc", truncated: true })).issues
    ).toBeUndefined()
    for (const broken of [
      { items: [preview], next_cursor: null, truncated: "yes" },
      { items: [{ ...preview, description_truncated: 1 }], next_cursor: null }
    ]) {
      expect((await page.validate(broken)).issues?.length ?? 0).toBeGreaterThan(0)
    }
    // Arguments pass the SDK untouched: the use case decodes them and names what it refuses.
    const input = spec("todo_list").input["~standard"]
    expect(await input.validate({ full_descriptions: true, limit: 5 })).toEqual({
      value: { full_descriptions: true, limit: 5 }
    })
    const advertised = spec("todo_list").input["~standard"].jsonSchema.input({ target: "draft-2020-12" })
    expect(Object.keys(advertised.properties as object)).toContain("full_descriptions")
    expect(advertised.additionalProperties).toBe(false)
  })
})
