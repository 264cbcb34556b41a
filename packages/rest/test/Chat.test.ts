/**
 * The chat and conversation routes in process over PGlite with the real jose authenticator:
 * JSON and server-sent-event turns, conversations and messages with cursors, deletion, the
 * 403/404 rules, and a failing model answering 503 model_unavailable while the user's
 * message stays stored. The agent is the offline interpreter, wrapped so that a message can
 * make the model fail at once or after its first event.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { OfflineAgentRunner } from "@taskport/agent"
import { AgentError, AgentRunner } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { chatRoutes, makeOpenApi } from "@taskport/rest"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer, Stream } from "effect"

type Json = Record<string, unknown>
const asJson = (value: unknown) => value as Json
const errorOf = (value: unknown) => asJson(asJson(value).error)

/** Fails at once for "FAIL NOW" (with a Retry-After hint), after a first event for "FAIL LATER". */
const flakyRunner = Layer.succeed(
  AgentRunner,
  AgentRunner.of({
    run: (input) =>
      input.message.startsWith("FAIL")
        ? Effect.fail(
            input.message.includes("HINT")
              ? new AgentError({ reason: "model_unavailable", retryAfterSeconds: 30 })
              : new AgentError({ reason: "model_timeout" })
          )
        : OfflineAgentRunner.make.run(input),
    stream: (input) => {
      if (input.message.startsWith("FAIL NOW")) {
        return Stream.fail(new AgentError({ reason: "model_unavailable", retryAfterSeconds: 30 }))
      }
      if (input.message.startsWith("FAIL LATER")) {
        return OfflineAgentRunner.make.stream({ ...input, message: "what's pending?" }).pipe(
          Stream.filter((event) => event.type === "tool_call"),
          Stream.concat(Stream.fail(new AgentError({ reason: "invalid_model_response" })))
        )
      }
      return OfflineAgentRunner.make.stream(input)
    }
  })
)

interface SseEvent {
  readonly event: string
  readonly data: Json
}

const parseSse = (text: string): Array<SseEvent> =>
  text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n")
      const event = lines.find((line) => line.startsWith("event: "))?.slice(7) ?? "message"
      const data = lines
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n")
      return { event, data: JSON.parse(data) as Json }
    })

describe("chat routes", () => {
  layer(servicesLayer(PgDatabase.layerPglite(), flakyRunner), { timeout: 120_000 })((it) => {
    const setup = Effect.gen(function* () {
      const app = yield* makeApp()
      const user = newUser()
      const token = yield* tokenFor(user)
      return { app, user, token }
    })

    it.effect("C22: POST /api/v1/chat answers with the conversation, the reply and the tool calls", () =>
      Effect.gen(function* () {
        const { app, user, token } = yield* setup
        const first = yield* send(app, "POST", "/api/v1/chat", {
          token,
          body: { message: "add a task to buy groceries" }
        })
        expect(first.status).toBe(200)
        const reply = asJson(first.body)
        expect(Object.keys(reply).sort()).toEqual([
          "agent_response",
          "conversation_id",
          "tool_calls",
          "usage"
        ])
        expect(reply.agent_response).toMatch(/^Added task #\d+ "Buy groceries"\.$/)
        expect(reply.tool_calls).toEqual([
          expect.objectContaining({
            name: "todo_create",
            arguments: { title: "Buy groceries" },
            is_error: false
          })
        ])
        const tasks = yield* send(app, "GET", "/api/v1/tasks", { token })
        expect((asJson(tasks.body).items as Array<Json>).map((t) => t.title)).toEqual(["Buy groceries"])

        const next = yield* send(app, "POST", `/api/${user}/chat`, {
          token,
          body: { message: "what's pending?", conversation_id: reply.conversation_id }
        })
        expect(next.status).toBe(200)
        expect(asJson(next.body).conversation_id).toBe(reply.conversation_id)
        expect(asJson(next.body).agent_response).toContain("Buy groceries")
        const nulls = yield* send(app, "POST", "/api/v1/chat", {
          token,
          body: { message: "show me all my tasks", conversation_id: null }
        })
        expect(asJson(nulls.body).conversation_id).not.toBe(reply.conversation_id)

        const other = yield* send(app, "POST", `/api/${newUser()}/chat`, { token, body: { message: "hi" } })
        expect(other.status).toBe(403)
        const anonymous = yield* send(app, "POST", "/api/v1/chat", { body: { message: "hi" } })
        expect(anonymous.status).toBe(401)
        expect(anonymous.headers.get("www-authenticate")).toContain("Bearer")
      })
    )

    it.effect(
      "C22: bad chat input answers 400 naming the field, 415 without JSON, 404 for a foreign conversation",
      () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          for (const body of [{}, { message: "" }, { message: "x".repeat(4001) }, { message: 42 }]) {
            const reply = yield* send(app, "POST", "/api/v1/chat", { token, body })
            expect(reply.status, JSON.stringify(body)).toBe(400)
            expect(errorOf(reply.body).code).toBe("invalid_request")
            expect(JSON.stringify(reply.body)).toContain('"field":"message"')
          }
          const badId = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "hi", conversation_id: "nope" }
          })
          expect(badId.status).toBe(400)
          expect(JSON.stringify(badId.body)).toContain('"field":"conversation_id"')
          const badJson = yield* send(app, "POST", "/api/v1/chat", { token, body: "{oops" })
          expect(errorOf(badJson.body).code).toBe("invalid_json")
          const text = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: "hello",
            headers: { "content-type": "text/plain" }
          })
          expect(text.status).toBe(415)

          const owner = yield* tokenFor(newUser())
          const theirs = yield* send(app, "POST", "/api/v1/chat", {
            token: owner,
            body: { message: "add a task to hide" }
          })
          const conversation = asJson(theirs.body).conversation_id
          const intrusion = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "show me all my tasks", conversation_id: conversation }
          })
          expect(intrusion.status).toBe(404)
          expect(errorOf(intrusion.body).code).toBe("not_found")
          const unknown = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "hi", conversation_id: crypto.randomUUID() }
          })
          expect(unknown.status).toBe(404)
          const list = yield* send(app, "GET", "/api/v1/conversations", { token })
          expect(asJson(list.body).items).toEqual([])
        })
    )

    it.effect(
      "C23: with Accept: text/event-stream the turn streams tool_call, tool_result, delta, then done",
      () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const reply = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "I need to remember to pay bills" },
            headers: { accept: "text/event-stream" }
          })
          expect(reply.status).toBe(200)
          expect(reply.headers.get("content-type")).toContain("text/event-stream")
          expect(reply.headers.get("x-request-id")).not.toBeNull()
          const events = parseSse(reply.text)
          expect(events.map((e) => e.event)).toEqual(["tool_call", "tool_result", "delta", "done"])
          expect(events[0]!.data).toMatchObject({ name: "todo_create", arguments: { title: "Pay bills" } })
          expect(events[0]!.data.id).toEqual(expect.any(String))
          expect(events[1]!.data).toMatchObject({
            name: "todo_create",
            is_error: false,
            result: { title: "Pay bills" }
          })
          const done = events[3]!.data
          expect(Object.keys(done).sort()).toEqual([
            "agent_response",
            "conversation_id",
            "tool_calls",
            "usage"
          ])
          expect(events[2]!.data.text).toBe(done.agent_response)
          const messages = yield* send(app, "GET", `/api/v1/conversations/${done.conversation_id}/messages`, {
            token
          })
          const stored = asJson(messages.body).items as Array<Json>
          expect(stored.map((m) => m.role)).toEqual(["user", "assistant"])
          expect(stored[1]!.content).toBe(done.agent_response)
          expect(stored[1]!.tool_calls).toEqual(done.tool_calls)
        })
    )

    it.effect(
      "C25: a failing model answers 503 model_unavailable, Retry-After when known, and the message stays",
      () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          const first = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "add a task to jog" }
          })
          const conversation = asJson(first.body).conversation_id as string
          const hinted = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "FAIL with a HINT", conversation_id: conversation }
          })
          expect(hinted.status).toBe(503)
          expect(errorOf(hinted.body)).toMatchObject({
            code: "model_unavailable",
            details: { reason: "model_unavailable" }
          })
          expect(String(errorOf(hinted.body).message)).toContain("your message was saved")
          expect(hinted.headers.get("retry-after")).toBe("30")
          const unhinted = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "FAIL slowly", conversation_id: conversation }
          })
          expect(unhinted.status).toBe(503)
          expect(errorOf(unhinted.body).details).toEqual({ reason: "model_timeout" })
          expect(unhinted.headers.get("retry-after")).toBeNull()

          // Streamed: a failure before the first event is still a 503; a later one is an error event.
          const now = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "FAIL NOW", conversation_id: conversation },
            headers: { accept: "text/event-stream" }
          })
          expect(now.status).toBe(503)
          expect(now.headers.get("retry-after")).toBe("30")
          expect(errorOf(now.body).code).toBe("model_unavailable")
          const later = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "FAIL LATER", conversation_id: conversation },
            headers: { accept: "text/event-stream" }
          })
          expect(later.status).toBe(200)
          const events = parseSse(later.text)
          expect(events.map((e) => e.event)).toEqual(["tool_call", "error"])
          expect(events[1]!.data).toMatchObject({ error: { code: "model_unavailable" } })
          expect(JSON.stringify(events[1]!.data)).not.toMatch(/stack|at \w+ \(|SELECT/i)

          const messages = yield* send(app, "GET", `/api/v1/conversations/${conversation}/messages`, {
            token
          })
          expect((asJson(messages.body).items as Array<Json>).map((m) => [m.role, m.content])).toEqual([
            ["user", "add a task to jog"],
            ["assistant", asJson(first.body).agent_response],
            ["user", "FAIL with a HINT"],
            ["user", "FAIL slowly"],
            ["user", "FAIL NOW"],
            ["user", "FAIL LATER"]
          ])
        })
    )

    it.effect(
      "C24: conversations list newest first with cursors, messages page, and delete answers 204 then 404",
      () =>
        Effect.gen(function* () {
          const { app, user, token } = yield* setup
          const ids: Array<string> = []
          for (const n of [1, 2, 3]) {
            const reply = yield* send(app, "POST", "/api/v1/chat", {
              token,
              body: { message: `add a task to part ${n}` }
            })
            ids.push(asJson(reply.body).conversation_id as string)
          }
          yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "what's pending?", conversation_id: ids[1] }
          })
          const page1 = yield* send(app, "GET", "/api/v1/conversations?limit=2", { token })
          expect(page1.status).toBe(200)
          const body1 = asJson(page1.body)
          expect((body1.items as Array<Json>).map((c) => c.id)).toEqual([ids[1], ids[2]])
          expect((body1.items as Array<Json>)[0]).toMatchObject({ title: "add a task to part 2" })
          const page2 = yield* send(
            app,
            "GET",
            `/api/${user}/conversations?limit=2&cursor=${encodeURIComponent(String(body1.next_cursor))}`,
            { token }
          )
          expect((asJson(page2.body).items as Array<Json>).map((c) => c.id)).toEqual([ids[0]])
          expect(asJson(page2.body).next_cursor).toBeNull()

          const messages = yield* send(app, "GET", `/api/v1/conversations/${ids[1]}/messages?limit=3`, {
            token
          })
          const mbody = asJson(messages.body)
          expect((mbody.items as Array<Json>).map((m) => m.role)).toEqual(["user", "assistant", "user"])
          const rest = yield* send(
            app,
            "GET",
            `/api/v1/conversations/${ids[1]}/messages?cursor=${encodeURIComponent(String(mbody.next_cursor))}`,
            { token }
          )
          expect((asJson(rest.body).items as Array<Json>).map((m) => m.role)).toEqual(["assistant"])

          const bad = yield* send(app, "GET", "/api/v1/conversations?limit=0", { token })
          expect(bad.status).toBe(400)
          expect(JSON.stringify(bad.body)).toContain("limit")
          const badCursor = yield* send(app, "GET", "/api/v1/conversations?cursor=zzz", { token })
          expect(badCursor.status).toBe(400)
          const badId = yield* send(app, "GET", "/api/v1/conversations/42/messages", { token })
          expect(badId.status).toBe(400)
          expect(JSON.stringify(badId.body)).toContain('"field":"id"')

          const stranger = yield* tokenFor(newUser())
          for (const [method, path] of [
            ["GET", `/api/v1/conversations/${ids[0]}/messages`],
            ["DELETE", `/api/v1/conversations/${ids[0]}`]
          ] as const) {
            const reply = yield* send(app, method, path, { token: stranger })
            expect(reply.status, `${method} ${path}`).toBe(404)
          }
          expect(
            asJson((yield* send(app, "GET", "/api/v1/conversations", { token: stranger })).body).items
          ).toEqual([])
          const forbidden = yield* send(app, "GET", `/api/${newUser()}/conversations`, { token })
          expect(forbidden.status).toBe(403)

          const deleted = yield* send(app, "DELETE", `/api/${user}/conversations/${ids[0]}`, { token })
          expect(deleted.status).toBe(204)
          expect((yield* send(app, "DELETE", `/api/v1/conversations/${ids[0]}`, { token })).status).toBe(404)
          expect(
            (yield* send(app, "GET", `/api/v1/conversations/${ids[0]}/messages`, { token })).status
          ).toBe(404)
          const left = yield* send(app, "GET", "/api/v1/conversations", { token })
          expect((asJson(left.body).items as Array<Json>).map((c) => c.id)).toEqual([ids[1], ids[2]])
          expect((yield* send(app, "PUT", "/api/v1/conversations", { token, body: {} })).status).toBe(405)
        })
    )
  })
})

describe("chat routes in the OpenAPI document", () => {
  it.effect("C26: every chat route is documented under both prefixes, with SSE and model errors", () =>
    Effect.sync(() => {
      const document = makeOpenApi() as {
        paths: Record<string, Record<string, { operationId: string; responses: Record<string, Json> }>>
        components: { schemas: Record<string, unknown> }
      }
      for (const route of chatRoutes) {
        const method = route.method.toLowerCase()
        expect(document.paths[`/api/v1${route.path}`]?.[method]?.operationId).toBe(route.operationId)
        expect(document.paths[`/api/{user_id}${route.path}`]?.[method]?.operationId).toBe(
          `${route.operationId}_by_path_user`
        )
      }
      const chat = document.paths["/api/v1/chat"]!.post!
      expect(Object.keys(chat.responses).sort()).toEqual([
        "200",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
        "429",
        "500",
        "503"
      ])
      expect(Object.keys(asJson(chat.responses["200"]!.content))).toEqual([
        "application/json",
        "text/event-stream"
      ])
      expect(JSON.stringify(chat.responses["503"])).toContain("model_unavailable")
      expect(document.paths["/api/{user_id}/conversations"]!.get!.responses).toHaveProperty("403")
      expect(Object.keys(document.components.schemas)).toEqual(
        expect.arrayContaining([
          "ChatRequest",
          "ChatResponse",
          "ConversationPage",
          "MessagePage",
          "Message",
          "ToolCall"
        ])
      )
    })
  )
})
