/**
 * The size of MCP tool results through the official SDK client: todo_list shows description
 * previews unless asked for full ones, every result stays under the byte budget even for
 * tasks with every field at its limit, and a page cut to fit says so and pages on without
 * skipping or repeating a task. Structured results are checked against the advertised
 * output schema, as clients do.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/client"
import { CompactResults, McpHttp } from "@taskport/mcp"
import { connect } from "@taskport/test-support/McpHarness"
import { servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
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

const call = (client: Client, name: string, args: Json = {}) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<ToolResult>)

const text = (result: ToolResult) => result.content.map((block) => block.text ?? "").join("\n")

/** What a client receives and counts: text and structured content together, as JSON. */
const weight = (result: ToolResult) =>
  CompactResults.jsonBytes({ content: result.content, structuredContent: result.structuredContent })

const endpoint = () => McpHttp.make({ allowedOrigins: [] })

/** A due value as long as they come: seconds, milliseconds, an offset once stored, and one of the longest zone names. */
const LONG_DUE = "2026-12-01T09:00:00.123[America/North_Dakota/New_Salem]"

/**
 * A task with every field at its length limit. `fill` is the character repeated: a letter for
 * ordinary text, or U+0001, which JSON escapes to six bytes, for the heaviest possible result.
 */
const maximal = (index: number, fill: string) => {
  const label = `${index}`.padStart(3, "0")
  return {
    title: `${label}${fill.repeat(197)}`,
    description: fill.repeat(2000),
    priority: "high",
    due: LONG_DUE,
    tags: Array.from({ length: 20 }, (_, tag) => `${label}${String(tag).padStart(2, "0")}${fill.repeat(27)}`)
  }
}

const outputValidators = (client: Client) =>
  Effect.promise(async () => {
    const { tools } = await client.listTools()
    const ajv = new Ajv2020({ strict: false })
    return Object.fromEntries(tools.map((tool) => [tool.name, ajv.compile(tool.outputSchema as object)]))
  })

type Page = { items: Array<Json>; next_cursor: string | null; truncated?: boolean }

for (const database of testDatabases()) {
  describe(`MCP result sizes on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 300_000 })((it) => {
      it.effect(
        "M17: 100 maximal tasks at limit 100 come in pages under the budget, each saying it was cut, every task exactly once",
        () =>
          Effect.gen(function* () {
            const client = yield* connect(yield* endpoint(), yield* tokenFor(newUser()), "modern")
            const validate = yield* outputValidators(client)
            const ids: Array<number> = []
            for (let index = 0; index < 100; index++) {
              const created = yield* call(client, "todo_create", maximal(index, "x"))
              expect(created.isError).toBeFalsy()
              ids.push(created.structuredContent!.id as number)
            }
            for (const full of [false, true]) {
              const seen: Array<number> = []
              let cursor: string | null = null
              let pages = 0
              do {
                const args: Json = { limit: 100, full_descriptions: full }
                if (cursor !== null) args.cursor = cursor
                const result = yield* call(client, "todo_list", args)
                expect(result.isError).toBeFalsy()
                expect(weight(result)).toBeLessThanOrEqual(CompactResults.RESULT_BUDGET_BYTES)
                expect(
                  validate.todo_list!(result.structuredContent),
                  JSON.stringify(validate.todo_list!.errors)
                ).toBe(true)
                const page = result.structuredContent as Page
                expect(page.items.length).toBeGreaterThan(0)
                const remaining = 100 - seen.length
                if (page.items.length < Math.min(100, remaining)) {
                  expect(page.truncated).toBe(true)
                  expect(text(result)).toContain(`of the 100 tasks asked for are shown`)
                  expect(page.next_cursor).not.toBeNull()
                } else {
                  expect(page.truncated).toBeUndefined()
                }
                for (const task of page.items) {
                  expect(task.description_truncated).toBe(full ? undefined : true)
                  expect((task.description as string).length).toBe(
                    full ? 2000 : CompactResults.DESCRIPTION_PREVIEW_LENGTH + 1
                  )
                }
                seen.push(...page.items.map((task) => task.id as number))
                cursor = page.next_cursor
                pages++
              } while (cursor !== null && pages < 200)
              expect(pages).toBeGreaterThan(1)
              expect(seen).toEqual([...ids].reverse())
            }
          }).pipe(Effect.scoped)
      )

      it.effect("M18: the heaviest possible task stays under the budget in every tool's result", () =>
        Effect.gen(function* () {
          const client = yield* connect(yield* endpoint(), yield* tokenFor(newUser()), "modern")
          const validate = yield* outputValidators(client)
          const heaviest = maximal(0, "\u0001")
          const created = yield* call(client, "todo_create", heaviest)
          expect(created.isError).toBeFalsy()
          const id = created.structuredContent!.id as number
          const second = yield* call(client, "todo_create", maximal(1, "\u0001"))
          expect(second.isError).toBeFalsy()
          const results: Record<string, ToolResult> = {
            todo_create: created,
            todo_read: yield* call(client, "todo_read", { id }),
            todo_update: yield* call(client, "todo_update", { id, priority: "low" }),
            todo_complete: yield* call(client, "todo_complete", { id }),
            todo_list: yield* call(client, "todo_list", { limit: 100, full_descriptions: true })
          }
          results.todo_delete = yield* call(client, "todo_delete", { id })
          for (const [name, result] of Object.entries(results)) {
            expect(result.isError, name).toBeFalsy()
            expect(weight(result), name).toBeLessThanOrEqual(CompactResults.RESULT_BUDGET_BYTES)
            expect(validate[name]!(result.structuredContent), name).toBe(true)
          }
          expect(results.todo_read!.structuredContent!.description).toBe(heaviest.description)
          expect((results.todo_list!.structuredContent as Page).items.length).toBe(2)
        }).pipe(Effect.scoped)
      )

      it.effect(
        "M19: the default page shows previews far smaller than full descriptions, which are there on request",
        () =>
          Effect.gen(function* () {
            const client = yield* connect(yield* endpoint(), yield* tokenFor(newUser()), "legacy")
            const validate = yield* outputValidators(client)
            const notes = (i: number) =>
              `Notes ${i}: ${"lorem ipsum dolor sit amet ".repeat(80)}`.slice(0, 2000)
            for (let i = 0; i < 20; i++) {
              yield* call(client, "todo_create", { title: `Task ${i}`, description: notes(i) })
            }
            const short = yield* call(client, "todo_create", { title: "Short", description: "Just a line" })
            const compact = yield* call(client, "todo_list")
            const full = yield* call(client, "todo_list", { full_descriptions: true })
            for (const result of [compact, full]) {
              expect(validate.todo_list!(result.structuredContent)).toBe(true)
              expect((result.structuredContent as Page).items).toHaveLength(20)
              expect((result.structuredContent as Page).truncated).toBeUndefined()
            }
            // A task's other fields weigh some 550 bytes; with 200-character previews instead of
            // 2,000-character notes, the page weighs well under a third of the full one.
            expect(weight(compact) * 3.5).toBeLessThan(weight(full))
            const [first, ...rest] = (compact.structuredContent as Page).items
            expect(first).toMatchObject({ id: short.structuredContent!.id, description: "Just a line" })
            expect(first!.description_truncated).toBeUndefined()
            for (const task of rest) {
              const index = Number(String(task.title).replace("Task ", ""))
              expect(task.description_truncated).toBe(true)
              expect(String(task.description).endsWith("…")).toBe(true)
              expect(notes(index).startsWith(String(task.description).slice(0, -1))).toBe(true)
            }
            expect(text(compact)).toContain("full_descriptions: true")
            for (const task of (full.structuredContent as Page).items.slice(1)) {
              expect(task.description_truncated).toBeUndefined()
              expect(task.description).toBe(notes(Number(String(task.title).replace("Task ", ""))))
            }
            expect(text(full)).not.toContain("previews")
            const read = yield* call(client, "todo_read", { id: rest[0]!.id as number })
            expect(read.structuredContent!.description).toHaveLength(2000)
            const refused = yield* call(client, "todo_list", { full_descriptions: "yes" })
            expect(refused.isError).toBe(true)
            expect(text(refused)).toContain("full_descriptions")
          }).pipe(Effect.scoped)
      )
    })
  })
}

describe("description previews", () => {
  it("M20: a preview never splits a surrogate pair and is marked with an ellipsis", () => {
    const length = CompactResults.DESCRIPTION_PREVIEW_LENGTH
    const astral = `${"a".repeat(length - 1)}😀 and more`
    expect(CompactResults.preview(astral)).toBe(`${"a".repeat(length - 1)}…`)
    expect(CompactResults.preview(`${"b".repeat(length - 1)}  tail`)).toBe(`${"b".repeat(length - 1)}…`)
  })
})

describe("the budget's quick check", () => {
  const listedTask = (text: string, tags: ReadonlyArray<string>, due: string | null) => ({
    id: 2_147_483_647,
    title: text.slice(0, 200),
    description: text,
    priority: "medium" as const,
    completed: true,
    completed_at: "2026-12-01T09:00:00.000Z",
    due,
    tags,
    recurrence: "FREQ=MONTHLY;INTERVAL=366;BYDAY=-1WE;UNTIL=20261231",
    reminder: due === null ? "2026-12-01T09:00:00.000+14:00[Pacific/Kiritimati]" : "-P365DT23H59M59S",
    remind_at: "2026-12-01T09:00:00.000Z",
    next_occurrence_id: 2_147_483_647,
    version: 2_147_483_647,
    created_at: "2026-12-01T09:00:00.000Z",
    updated_at: "2026-12-01T09:00:00.000Z",
    description_truncated: true
  })

  it("M22: a page it passes unweighed is never over the budget, whatever its texts", () => {
    const pieces = ["a", "é", "😀", '"', "\\", "\u0001", "\n", "工"]
    let passed = 0
    for (let round = 0; round < 400; round++) {
      const piece = pieces[round % pieces.length]!
      const length = 1 + ((round * 37) % 200)
      const tags = Array.from({ length: round % 21 }, (_, i) => `${piece}${i}`.slice(0, 32))
      const items = Array.from({ length: 1 + (round % 40) }, () =>
        listedTask(piece.repeat(length), tags, round % 2 === 0 ? null : LONG_DUE)
      )
      const cursor = round % 3 === 0 ? null : "c".repeat(400)
      if (CompactResults.certainlyFits(items, cursor)) {
        passed++
        const result = {
          // The text content names each task on a line, as the server writes it.
          content: [
            {
              type: "text",
              text: items
                .map(
                  (task) =>
                    `#${task.id} ${JSON.stringify(task.title)} [done, medium, due ${task.due}, tags ${task.tags.join(",")}, v${task.version}]`
                )
                .join("\n")
            }
          ],
          structuredContent: { items, next_cursor: cursor, truncated: true }
        }
        expect(CompactResults.jsonBytes(result)).toBeLessThanOrEqual(CompactResults.RESULT_BUDGET_BYTES)
      }
    }
    // It is a shortcut, not a refusal: ordinary small pages pass it.
    expect(passed).toBeGreaterThan(50)
  })
})
