/**
 * Model outages in the middle of a tool loop, through the REST chat route and the real
 * `openai` client against a scripted model: a timeout, a 500 and garbage after a first tool
 * call. Each turn answers 503 model_unavailable, the user message is kept, no partial
 * assistant message is stored, and the next turn works.
 */
import { describe, expect, layer } from "@effect/vitest"
import { OpenAiAgentRunner } from "@taskport/agent"
import { PgDatabase } from "@taskport/postgres"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import * as ScriptedModel from "@taskport/test-support/ScriptedModel"
import { Context, Effect, Layer } from "effect"

type Json = Record<string, unknown>

class Model extends Context.Service<Model, ScriptedModel.ScriptedModel>()("test/ScriptedModel") {}

// The runner talks to the scripted model; short timeout and no retries so outages surface at once.
const services = Layer.unwrap(
  Effect.map(Model, (model) =>
    servicesLayer(
      PgDatabase.layerPglite(),
      OpenAiAgentRunner.layer({
        apiKey: "test-key",
        baseURL: model.baseURL,
        model: "scripted",
        timeoutMs: 1_000,
        maxRetries: 0
      })
    )
  )
).pipe(Layer.provideMerge(Layer.effect(Model, ScriptedModel.scoped)))

describe("model outage", () => {
  layer(services, { timeout: 120_000 })((it) => {
    const failures: ReadonlyArray<readonly [string, ScriptedModel.ScriptStep]> = [
      ["a timeout", { hang: true }],
      ["a 500", { status: 500 }],
      ["garbage", { garbage: "<html>this is not json" }]
    ]
    for (const [name, failure] of failures) {
      it.effect(
        `F4: ${name} in the middle of a tool loop answers 503, keeps the user message, stores no partial reply, and the next turn works`,
        () =>
          Effect.gen(function* () {
            const model = yield* Model
            const app = yield* makeApp()
            const token = yield* tokenFor(`outage-${crypto.randomUUID()}`)
            model.script([{ reply: "Hello! How can I help?" }])
            const opened = yield* send(app, "POST", "/api/v1/chat", { token, body: { message: "hi" } })
            expect(opened.status).toBe(200)
            const conversation = (opened.body as Json).conversation_id as string

            model.script([
              {
                toolCalls: [
                  {
                    name: "todo_create",
                    arguments: { title: "Halfway", description: null, priority: null, due: null, tags: null }
                  }
                ]
              },
              failure
            ])
            const failed = yield* send(app, "POST", "/api/v1/chat", {
              token,
              body: { message: "add halfway", conversation_id: conversation }
            })
            expect(failed.status).toBe(503)
            expect((failed.body as { error: { code: string } }).error.code).toBe("model_unavailable")
            expect(failed.text).not.toMatch(/\n\s+at |test-key/)

            const afterFailure = yield* send(app, "GET", `/api/v1/conversations/${conversation}/messages`, {
              token
            })
            const stored = (afterFailure.body as { items: Array<{ role: string; content: string }> }).items
            expect(stored.map((m) => [m.role, m.content])).toEqual([
              ["user", "hi"],
              ["assistant", "Hello! How can I help?"],
              ["user", "add halfway"]
            ])

            model.script([{ reply: "Done, the task is there." }])
            const next = yield* send(app, "POST", "/api/v1/chat", {
              token,
              body: { message: "is it there?", conversation_id: conversation }
            })
            expect(next.status).toBe(200)
            expect((next.body as Json).agent_response).toBe("Done, the task is there.")
            const final = yield* send(app, "GET", `/api/v1/conversations/${conversation}/messages`, { token })
            expect((final.body as { items: Array<unknown> }).items).toHaveLength(5)
          })
      )
    }
  })
})
