/**
 * Model token usage through the real `openai` client and the REST chat route: each turn's
 * tokens (every step of it together) in the reply, on the stored assistant message and in
 * the conversation's totals; zero from the offline interpreter; the per-turn cap; and the
 * daily budget, which refuses a turn before the model is asked anything.
 */
import { describe, expect, it } from "@effect/vitest"
import { OfflineAgentRunner, OpenAiAgentRunner } from "@taskport/agent"
import { PgDatabase } from "@taskport/postgres"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import * as ScriptedModel from "@taskport/test-support/ScriptedModel"
import { Effect } from "effect"

type Json = Record<string, unknown>
const usageOf = (value: unknown) => (value as { usage?: Json }).usage

const withModel = <A, E>(
  body: (model: ScriptedModel.ScriptedModel) => Effect.Effect<A, E, never>
): Effect.Effect<A, E, never> => Effect.scoped(Effect.flatMap(ScriptedModel.scoped, body))

describe("chat token usage", () => {
  for (const streaming of [false, true]) {
    it.live(
      `G23 (${streaming ? "streamed" : "whole"}): a turn reports its tokens, stored with the reply and summed per conversation`,
      () =>
        withModel((model) =>
          Effect.gen(function* () {
            const app = yield* makeApp()
            const token = yield* tokenFor(`u-${crypto.randomUUID()}`)
            model.script([
              { toolCalls: [{ name: "todo_list", arguments: {} }], usage: { input: 100, output: 10 } },
              { reply: "You have no tasks.", usage: { input: 150, output: 20 } },
              { reply: "Still none.", usage: { input: 200, output: 5 } }
            ])
            const headers: Record<string, string> = streaming ? { accept: "text/event-stream" } : {}
            const first = yield* send(app, "POST", "/api/v1/chat", {
              token,
              headers,
              body: { message: "what is on my list?" }
            })
            expect(first.status, first.text).toBe(200)
            const reply = streaming
              ? (JSON.parse(/event: done\ndata: (.*)\n/.exec(first.text)?.[1] ?? "{}") as Json)
              : (first.body as Json)
            expect(usageOf(reply)).toEqual({ input_tokens: 250, output_tokens: 30, total_tokens: 280 })
            const conversation = reply.conversation_id as string
            yield* send(app, "POST", "/api/v1/chat", {
              token,
              body: { message: "and now?", conversation_id: conversation }
            })
            const messages = (yield* send(app, "GET", `/api/v1/conversations/${conversation}/messages`, {
              token
            })).body as { items: Array<Json> }
            expect(messages.items.map((message) => (usageOf(message) as Json).total_tokens)).toEqual([
              0, 280, 0, 205
            ])
            const listed = (yield* send(app, "GET", "/api/v1/conversations", { token })).body as {
              items: Array<Json>
            }
            expect(usageOf(listed.items[0])).toEqual({
              input_tokens: 450,
              output_tokens: 35,
              total_tokens: 485
            })
          }).pipe(
            Effect.provide(
              servicesLayer(
                PgDatabase.layerPglite(),
                OpenAiAgentRunner.layer({ apiKey: "k", baseURL: model.baseURL, maxRetries: 0 })
              )
            )
          )
        )
    )
  }

  it.live("G23: the offline interpreter reports zero tokens", () =>
    Effect.gen(function* () {
      const app = yield* makeApp()
      const token = yield* tokenFor(`u-${crypto.randomUUID()}`)
      const reply = yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "list my tasks" } })
      expect(usageOf(reply.body)).toEqual({ input_tokens: 0, output_tokens: 0, total_tokens: 0 })
    }).pipe(Effect.provide(servicesLayer(PgDatabase.layerPglite(), OfflineAgentRunner.layer)))
  )

  it.live("G24: the per-turn cap stops a turn's model calls once reached", () =>
    withModel((model) =>
      Effect.gen(function* () {
        const app = yield* makeApp()
        const token = yield* tokenFor(`u-${crypto.randomUUID()}`)
        model.script([
          { toolCalls: [{ name: "todo_list", arguments: {} }], usage: { input: 900, output: 200 } },
          { reply: "never asked for", usage: { input: 1, output: 1 } }
        ])
        const reply = yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "list" } })
        expect(reply.status).toBe(200)
        expect((reply.body as Json).agent_response).toContain("limit of 1000 model tokens")
        expect(model.requests).toHaveLength(1)
      }).pipe(
        Effect.provide(
          servicesLayer(
            PgDatabase.layerPglite(),
            OpenAiAgentRunner.layer({
              apiKey: "k",
              baseURL: model.baseURL,
              maxRetries: 0,
              maxTokensPerTurn: 1000
            })
          )
        )
      )
    )
  )

  it.live(
    "G25: past the daily budget a turn is refused before the model is called, saying when it resets",
    () =>
      withModel((model) =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const token = yield* tokenFor(`u-${crypto.randomUUID()}`)
          model.script([{ reply: "ok", usage: { input: 400, output: 100 } }])
          expect((yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "hi" } })).status).toBe(
            200
          )
          const refused = yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "again" } })
          expect(refused.status).toBe(429)
          const error = (refused.body as { error: Json }).error
          expect(error.code).toBe("token_budget_exceeded")
          const resets = (error.details as Json).resets_at as string
          expect(String(error.message)).toContain(resets)
          expect(Date.parse(resets) % 86_400_000).toBe(0)
          expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0)
          expect(model.requests).toHaveLength(1)
          // Another user has a budget of their own.
          model.script([{ reply: "ok" }])
          const other = yield* tokenFor(`u-${crypto.randomUUID()}`)
          expect(
            (yield* send(app, "POST", "/api/v1/chat", { token: other, body: { message: "hi" } })).status
          ).toBe(200)
        }).pipe(
          Effect.provide(
            servicesLayer(
              PgDatabase.layerPglite(),
              OpenAiAgentRunner.layer({ apiKey: "k", baseURL: model.baseURL, maxRetries: 0 }),
              { dailyTokenBudget: 500 }
            )
          )
        )
      )
  )
})
