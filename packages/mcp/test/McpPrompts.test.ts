/**
 * The MCP prompts through the official SDK client: prompts/list offers them with their
 * arguments, prompts/get returns a message naming the todo_* calls to make, bad arguments
 * are refused naming the argument, and read-only mode offers only the prompts whose tools
 * it still serves.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/client"
import { McpHttp } from "@taskport/mcp"
import { connect } from "@taskport/test-support/McpHarness"
import { servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect } from "effect"

const promptText = (client: Client, name: string, args?: Record<string, string>) =>
  Effect.promise(async () => {
    const result = await client.getPrompt(args === undefined ? { name } : { name, arguments: args })
    return result.messages
      .map((message) => (message.content.type === "text" ? message.content.text : ""))
      .join("\n")
  })

/** The error a prompts/get is refused with, or "accepted". */
const refusal = (client: Client, name: string, args: Record<string, string>) =>
  Effect.promise(() =>
    client.getPrompt({ name, arguments: args }).then(
      () => "accepted",
      (error: unknown) => (error instanceof Error ? error.message : String(error))
    )
  )

const toolsNamedIn = (text: string) => [...new Set(text.match(/todo_[a-z]+/g) ?? [])].sort()

describe("MCP prompts", () => {
  layer(servicesLayer(testDatabases()[0]!.layer()), { timeout: 120_000 })((it) => {
    for (const era of ["legacy", "modern"] as const) {
      it.effect(
        `P1 (${era}): prompts/list offers the review, planning and triage prompts with arguments`,
        () =>
          Effect.gen(function* () {
            const client = yield* connect(yield* McpHttp.make({}), yield* tokenFor(newUser()), era)
            const { prompts } = yield* Effect.promise(() => client.listPrompts())
            expect(prompts.map((prompt) => prompt.name).sort()).toEqual([
              "daily_review",
              "plan_week",
              "triage"
            ])
            for (const prompt of prompts) {
              expect(prompt.title).toBeTruthy()
              expect(prompt.description).toBeTruthy()
              for (const argument of prompt.arguments ?? []) {
                expect(argument.required).toBe(false)
                expect(argument.description).toBeTruthy()
              }
            }
            const byName = Object.fromEntries(
              prompts.map((prompt) => [prompt.name, (prompt.arguments ?? []).map((a) => a.name).sort()])
            )
            expect(byName).toEqual({
              daily_review: ["tag", "today"],
              plan_week: ["tag", "today"],
              triage: ["stale_days", "today"]
            })
          }).pipe(Effect.scoped)
      )
    }

    it.effect(
      "P2: prompts/get returns a user message naming the tool calls, with the arguments applied",
      () =>
        Effect.gen(function* () {
          const client = yield* connect(yield* McpHttp.make({}), yield* tokenFor(newUser()), "modern")
          const { tools } = yield* Effect.promise(() => client.listTools())
          const offered = tools.map((tool) => tool.name)

          const review = yield* promptText(client, "daily_review", { tag: " Work ", today: "2026-12-31" })
          expect(review).toContain("Today is 2026-12-31")
          expect(review).toContain(
            'todo_list with {"status":"pending","due_before":"2027-01-01","sort":"due","order":"asc","limit":50,"tag":"work"}'
          )
          expect(review).toContain('"priority":"high"')
          expect(toolsNamedIn(review)).toEqual(["todo_list", "todo_read"])

          const week = yield* promptText(client, "plan_week", { today: "2026-02-25" })
          expect(week).toContain("from 2026-02-25 to 2026-03-03")
          expect(week).toContain('"due_before":"2026-03-04"')
          expect(week).not.toContain('"tag"')
          expect(toolsNamedIn(week)).toEqual(["todo_list", "todo_update"])

          const triage = yield* promptText(client, "triage", { stale_days: "14", today: "2026-12-10" })
          expect(triage).toContain("updated_at before 2026-11-26")
          expect(toolsNamedIn(triage)).toEqual(["todo_complete", "todo_delete", "todo_list", "todo_update"])

          const defaults = yield* promptText(client, "triage")
          expect(defaults).toMatch(/not changed for 30 days or more \(updated_at before \d{4}-\d{2}-\d{2}\)/)
          expect(defaults).toMatch(/Today is \d{4}-\d{2}-\d{2}\./)

          for (const text of [review, week, triage, defaults]) {
            for (const tool of toolsNamedIn(text)) expect(offered).toContain(tool)
            expect(text).toContain("never instructions")
          }
        }).pipe(Effect.scoped)
    )

    it.effect("P3: a bad argument or an unknown prompt is refused with an error naming it", () =>
      Effect.gen(function* () {
        const client = yield* connect(yield* McpHttp.make({}), yield* tokenFor(newUser()), "modern")
        const cases: Array<[string, Record<string, string>, RegExp]> = [
          ["daily_review", { today: "tomorrow" }, /today: must be a calendar date/],
          ["daily_review", { today: "2026-02-30" }, /today/],
          ["daily_review", { today: "2026-12-01T09:00[Europe/Paris]" }, /today/],
          ["plan_week", { tag: "x".repeat(33) }, /tag/],
          ["plan_week", { tag: "   " }, /tag/],
          ["triage", { stale_days: "soon" }, /stale_days/],
          ["triage", { stale_days: "0" }, /stale_days: must be a whole number of days from 1 to 365/],
          ["triage", { stale_days: "2.5" }, /stale_days/],
          ["daily_review", { tags: "work" }, /tags/]
        ]
        for (const [name, args, pattern] of cases) {
          const message = yield* refusal(client, name, args)
          expect(message, `${name} ${JSON.stringify(args)}`).toMatch(/Invalid arguments for prompt/)
          expect(message, `${name} ${JSON.stringify(args)}`).toMatch(pattern)
        }
        expect(yield* refusal(client, "weekly_report", {})).toMatch(/Prompt weekly_report not found/)
      }).pipe(Effect.scoped)
    )

    it.effect("P4: read-only mode offers only the prompts that need no more than the read tools", () =>
      Effect.gen(function* () {
        const client = yield* connect(
          yield* McpHttp.make({ readOnly: true }),
          yield* tokenFor(newUser()),
          "modern"
        )
        const { prompts } = yield* Effect.promise(() => client.listPrompts())
        expect(prompts.map((prompt) => prompt.name)).toEqual(["daily_review"])
        const { tools } = yield* Effect.promise(() => client.listTools())
        const review = yield* promptText(client, "daily_review", { today: "2026-12-01" })
        for (const tool of toolsNamedIn(review)) expect(tools.map((t) => t.name)).toContain(tool)
        expect(yield* refusal(client, "triage", {})).toMatch(/Prompt triage not found/)
      }).pipe(Effect.scoped)
    )
  })
})
