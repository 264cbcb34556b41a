/**
 * The model-backed runner is told the user's local date, time and zone with every turn (read
 * at the Effect clock's present, in the stored zone), and its tools offer the due views,
 * completion filters, recurrence and skip.
 */
import { describe, expect, layer } from "@effect/vitest"
import { OfflineAgentRunner, OpenAiAgentRunner } from "@taskport/agent"
import { AgentRunner, ChatService, SettingsService } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { as, chatLayer } from "@taskport/test-support/ChatHarness"
import * as ScriptedModel from "@taskport/test-support/ScriptedModel"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"

const suite = chatLayer(PgDatabase.layerPglite(), OfflineAgentRunner.layer)

describe("the model runner's sense of time", () => {
  layer(suite, { timeout: 120_000, excludeTestServices: true })((base) => {
    // Each test gets its own TestClock; the database layer keeps the real one, which its pool needs.
    const it = {
      effect: <A, E>(
        name: string,
        self: () => Effect.Effect<A, E, Layer.Success<typeof suite> | Scope.Scope>
      ) => base.effect(name, () => Effect.provide(self(), TestClock.layer()))
    }
    it.effect(
      "T16: each turn carries the user's local date, time and zone; the tools expose the new filters",
      () =>
        Effect.gen(function* () {
          const model = yield* ScriptedModel.scoped
          const runner = OpenAiAgentRunner.make({ apiKey: "test-key", baseURL: model.baseURL, maxRetries: 0 })
          const user = newUser()
          const turn = (message: string) =>
            Effect.flatMap(ChatService, (chat) => chat.turn({ message })).pipe(
              Effect.provide(
                ChatService.layer().pipe(Layer.provide(Layer.succeed(AgentRunner, AgentRunner.of(runner))))
              ),
              as(user)
            )
          yield* TestClock.setTime(Date.parse("2026-12-02T06:00:00Z"))
          model.script([{ reply: "ok" }, { reply: "ok" }])
          yield* turn("what's due tomorrow?")
          yield* as(user)(
            Effect.flatMap(SettingsService, (s) => s.replace({ time_zone: "America/Los_Angeles" }))
          )
          yield* turn("what's due tomorrow?")
          const [utc, la] = model.requests.map((request) =>
            String(ScriptedModel.chatMessages(request)[0]!.content)
          )
          expect(utc).toContain("Wednesday 2026-12-02 06:00 in UTC (UTC+00:00)")
          expect(la).toContain("Tuesday 2026-12-01 22:00 in America/Los_Angeles (UTC-08:00)")
          expect(la).toContain("[America/Los_Angeles]")
          const tools = model.requests[0]!.body.tools as Array<{
            function: { name: string; parameters: { properties: Record<string, unknown> } }
          }>
          const byName = Object.fromEntries(
            tools.map((tool) => [tool.function.name, tool.function.parameters.properties])
          )
          expect(Object.keys(byName.todo_list!)).toEqual(
            expect.arrayContaining(["due", "due_within_days", "completed_after", "completed_before"])
          )
          expect(Object.keys(byName.todo_create!)).toContain("recurrence")
          expect(Object.keys(byName.todo_complete!)).toContain("skip")
        })
    )
  })
})
