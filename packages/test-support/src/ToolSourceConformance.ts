/**
 * The behaviour every `ToolSource` over Taskport's todo tools must show, whatever carries
 * the calls (the core's tool source in process, an MCP client over HTTP): the eight tools with
 * object schemas, a full round trip for one user, isolation between users, and failures
 * (invalid arguments naming the field, an unknown tool) as `is_error` outcomes.
 */
import { describe, expect, layer } from "@effect/vitest"
import { type ToolOutcome, type ToolSource, todoToolNames } from "@taskport/core"
import { Context, Effect, type Layer, type Scope } from "effect"
import { newUser } from "./Users.ts"

export interface ToolSources {
  /** A tool source bound to `user` (a fresh user id each time the suite asks). */
  readonly forUser: (user: string) => Effect.Effect<ToolSource, unknown, Scope.Scope>
}

export class ToolSourcesUnderTest extends Context.Service<ToolSourcesUnderTest, ToolSources>()(
  "test/ToolSourcesUnderTest"
) {}

type Json = Record<string, unknown>

const ok = (outcome: ToolOutcome): Json => {
  expect(outcome.is_error, JSON.stringify(outcome.result)).toBe(false)
  return outcome.result as Json
}

const failed = (outcome: ToolOutcome): string => {
  expect(outcome.is_error).toBe(true)
  return typeof outcome.result === "string" ? outcome.result : JSON.stringify(outcome.result)
}

const titles = (page: Json) => (page.items as Array<Json>).map((task) => task.title)

const TOOLS = [...todoToolNames].sort()

/** Runs the suite against the sources the layer provides. */
export const toolSourceSuite = (name: string, make: Layer.Layer<ToolSourcesUnderTest, unknown>) =>
  describe(`ToolSource conformance: ${name}`, () => {
    layer(make, { timeout: 120_000 })((it) => {
      const source = Effect.gen(function* () {
        return yield* (yield* ToolSourcesUnderTest).forUser(newUser())
      })

      it.effect(
        "C30: the definitions are the eight todo tools, each with a description and an object schema",
        () =>
          Effect.gen(function* () {
            const tools = yield* source
            expect(tools.tools.map((tool) => tool.name).sort()).toEqual(TOOLS)
            for (const tool of tools.tools) {
              expect(tool.description.length, tool.name).toBeGreaterThan(10)
              expect(tool.parameters.type, tool.name).toBe("object")
              expect(tool.parameters.properties, tool.name).toBeTypeOf("object")
            }
          }).pipe(Effect.scoped)
      )

      it.effect("C30: create, read, list, update, complete and delete round-trip for one user", () =>
        Effect.gen(function* () {
          const tools = yield* source
          const created = ok(yield* tools.call("todo_create", { title: " Write report ", tags: ["Work"] }))
          expect(created).toMatchObject({
            title: "Write report",
            tags: ["work"],
            completed: false,
            version: 1
          })
          const id = created.id as number
          expect(ok(yield* tools.call("todo_read", { id }))).toEqual(created)
          expect(titles(ok(yield* tools.call("todo_list", {})))).toEqual(["Write report"])
          expect(titles(ok(yield* tools.call("todo_list", { query: "nothing like it" })))).toEqual([])
          const updated = ok(yield* tools.call("todo_update", { id, priority: "high", expected_version: 1 }))
          expect(updated).toMatchObject({ id, title: "Write report", priority: "high", version: 2 })
          const completed = ok(yield* tools.call("todo_complete", { id }))
          expect(completed).toMatchObject({ id, completed: true, version: 3 })
          expect(ok(yield* tools.call("todo_delete", { id }))).toMatchObject({ id, completed: true })
          expect(failed(yield* tools.call("todo_read", { id }))).toContain(String(id))
          expect(titles(ok(yield* tools.call("todo_list", {})))).toEqual([])
        }).pipe(Effect.scoped)
      )

      it.effect("C30: one user's tasks are out of another's sight and reach", () =>
        Effect.gen(function* () {
          const alice = yield* source
          const bob = yield* source
          const id = ok(yield* alice.call("todo_create", { title: "Alice's secret" })).id as number
          expect(titles(ok(yield* bob.call("todo_list", {})))).toEqual([])
          failed(yield* bob.call("todo_read", { id }))
          failed(yield* bob.call("todo_update", { id, title: "Bob was here" }))
          failed(yield* bob.call("todo_complete", { id }))
          failed(yield* bob.call("todo_delete", { id }))
          expect(ok(yield* alice.call("todo_read", { id }))).toMatchObject({
            title: "Alice's secret",
            completed: false,
            version: 1
          })
        }).pipe(Effect.scoped)
      )

      it.effect("C30: invalid arguments and unknown tools are is_error outcomes naming what is wrong", () =>
        Effect.gen(function* () {
          const tools = yield* source
          expect(failed(yield* tools.call("todo_create", { title: "" }))).toContain("title")
          expect(failed(yield* tools.call("todo_create", { title: "x", priority: "urgent" }))).toContain(
            "priority"
          )
          expect(failed(yield* tools.call("todo_read", { id: "seven" }))).toContain("id")
          expect(failed(yield* tools.call("todo_read", {}))).toContain("id")
          expect(failed(yield* tools.call("todo_archive", { id: 1 }))).toContain("todo_archive")
          // Nothing was stored by the refused calls.
          expect(titles(ok(yield* tools.call("todo_list", {})))).toEqual([])
        }).pipe(Effect.scoped)
      )
    })
  })
