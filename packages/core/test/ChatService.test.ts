/**
 * The chat use cases over the real repositories on every test database: what a turn stores
 * and in which order, the history the agent sees, input checks, a failing agent, the streamed
 * turn, and listing, paging and deleting conversations.
 *
 * The agent is the offline interpreter behind a thin wrapper that records what it was given
 * and fails on request, so the service is observed from the port's side.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { OfflineAgentRunner } from "@taskport/agent"
import {
  AgentError,
  type AgentInput,
  AgentRunner,
  type ChatEvent,
  ChatService,
  type InvalidParameters,
  MAX_MESSAGE_LENGTH,
  titleFrom
} from "@taskport/core"
import { allMessages, allTasks, as, chatLayer, turn } from "@taskport/test-support/ChatHarness"
import { realPostgresUrl } from "@taskport/test-support/ScratchDatabase"
import { proxyFor } from "@taskport/test-support/TcpProxy"
import { postgresLayer, testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer, Stream } from "effect"

const seen: Array<AgentInput> = []

/** The offline runner, recording its inputs; a message starting with FAIL makes the model fail. */
const observedRunner = Layer.succeed(
  AgentRunner,
  AgentRunner.of({
    run: (input) => {
      seen.push(input)
      return input.message.startsWith("FAIL")
        ? Effect.fail(new AgentError({ reason: "model_unavailable", retryAfterSeconds: 7 }))
        : OfflineAgentRunner.make.run(input)
    },
    stream: (input) => {
      seen.push(input)
      return input.message.startsWith("FAIL")
        ? OfflineAgentRunner.make.stream({ ...input, message: "show me all my tasks" }).pipe(
            Stream.filter((event) => event.type !== "done"),
            Stream.concat(Stream.fail(new AgentError({ reason: "model_timeout" })))
          )
        : OfflineAgentRunner.make.stream(input)
    }
  })
)

const lastInput = () => seen.at(-1)!

const errorOf = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

for (const database of testDatabases()) {
  describe(`ChatService on ${database.name}`, () => {
    layer(chatLayer(database.layer(), observedRunner, { historyLimit: 4 }), { timeout: 120_000 })((it) => {
      it.effect(
        "C1: a first turn creates a titled conversation and stores both messages with the tool calls",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const reply = yield* as(user)(turn({ message: "  add a task to buy groceries  " }))
            expect(reply.agent_response).toMatch(/^Added task #\d+ "Buy groceries"\.$/)
            expect(reply.tool_calls).toHaveLength(1)
            expect(reply.tool_calls[0]).toMatchObject({
              name: "todo_create",
              arguments: { title: "Buy groceries" },
              is_error: false,
              result: { title: "Buy groceries", completed: false }
            })
            const chat = yield* ChatService
            const conversations = yield* as(user)(chat.listConversations({}))
            expect(conversations.items.map((c) => [c.id, c.title])).toEqual([
              [reply.conversation_id, "add a task to buy groceries"]
            ])
            const messages = yield* as(user)(allMessages(reply.conversation_id))
            expect(messages.map((m) => [m.role, m.content])).toEqual([
              ["user", "  add a task to buy groceries  "],
              ["assistant", reply.agent_response]
            ])
            expect(messages[1]!.tool_calls).toEqual(reply.tool_calls)
            expect((yield* as(user)(allTasks)).map((t) => t.title)).toEqual(["Buy groceries"])
          })
      )

      it.effect("C1: titles are the first message on one line, at most 80 characters", () =>
        Effect.sync(() => {
          expect(titleFrom("  hello\n  there  ")).toBe("hello there")
          const long = titleFrom(`add a task to ${"x".repeat(200)}`)
          expect(long.length).toBe(80)
          expect(long.endsWith("…")).toBe(true)
        })
      )

      it.effect(
        "C2: a missing, blank or too long message is refused naming the field, and nothing is stored",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            for (const message of ["", "   ", "x".repeat(MAX_MESSAGE_LENGTH + 1)]) {
              const error = yield* errorOf(as(user)(turn({ message })))
              expect(error._tag).toBe("InvalidParameters")
              expect(String(error.message)).toContain("message")
              // The one formatter names the field for every surface.
              expect(new Set((error as InvalidParameters).issues.map((issue) => issue.field))).toEqual(
                new Set(["message"])
              )
            }
            const missing = yield* errorOf(as(user)(turn({} as never)))
            expect(String(missing.message)).toContain("message")
            const badId = yield* errorOf(as(user)(turn({ message: "hi", conversation_id: "not-a-uuid" })))
            expect(String(badId.message)).toContain("conversation_id")
            const chat = yield* ChatService
            expect((yield* as(user)(chat.listConversations({}))).items).toEqual([])
            const fits = yield* as(user)(turn({ message: "x".repeat(MAX_MESSAGE_LENGTH) }))
            expect(fits.agent_response).toContain("command interpreter")
          })
      )

      it.effect("C3: an unknown or another user's conversation is not found, and nothing is stored", () =>
        Effect.gen(function* () {
          const owner = newUser()
          const intruder = newUser()
          const first = yield* as(owner)(turn({ message: "add a task to water plants" }))
          const foreign = yield* errorOf(
            as(intruder)(turn({ message: "show me all my tasks", conversation_id: first.conversation_id }))
          )
          expect(foreign._tag).toBe("ConversationNotFound")
          const unknown = yield* errorOf(
            as(owner)(turn({ message: "hello", conversation_id: crypto.randomUUID() }))
          )
          expect(unknown._tag).toBe("ConversationNotFound")
          expect(yield* as(owner)(allMessages(first.conversation_id))).toHaveLength(2)
          const chat = yield* ChatService
          expect((yield* as(intruder)(chat.listConversations({}))).items).toEqual([])
        })
      )

      it.effect(
        "C4: the agent sees the last N messages, oldest first, with their tool calls, and not the new one",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const first = yield* as(user)(turn({ message: "add a task to call the bank" }))
            expect(lastInput().history).toEqual([])
            const id = first.conversation_id
            yield* as(user)(turn({ message: "add a task to book a table", conversation_id: id }))
            const history = lastInput().history
            expect(history.map((m) => [m.role, m.content])).toEqual([
              ["user", "add a task to call the bank"],
              ["assistant", first.agent_response]
            ])
            expect(history[1]!.tool_calls[0]).toMatchObject({
              name: "todo_create",
              arguments: { title: "Call the bank" }
            })
            yield* as(user)(turn({ message: "what's pending?", conversation_id: id }))
            yield* as(user)(turn({ message: "what have I completed?", conversation_id: id }))
            // historyLimit is 4: six messages are stored before this turn, the agent sees the last four.
            expect(lastInput().history.map((m) => m.content)).toEqual([
              "add a task to book a table",
              expect.stringContaining("Book a table"),
              "what's pending?",
              expect.stringContaining("You have 2 pending tasks")
            ])
            expect(lastInput().message).toBe("what have I completed?")
          })
      )

      it.effect(
        "C5: when the agent fails, the user message stays, no reply is stored and the typed error comes back",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const first = yield* as(user)(turn({ message: "add a task to renew passport" }))
            const error = yield* errorOf(
              as(user)(turn({ message: "FAIL please", conversation_id: first.conversation_id }))
            )
            expect(error).toBeInstanceOf(AgentError)
            expect(error).toMatchObject({ reason: "model_unavailable", retryAfterSeconds: 7 })
            const messages = yield* as(user)(allMessages(first.conversation_id))
            expect(messages.map((m) => [m.role, m.content])).toEqual([
              ["user", "add a task to renew passport"],
              ["assistant", first.agent_response],
              ["user", "FAIL please"]
            ])
            // A first message that fails still leaves its conversation and message behind.
            const fresh = yield* errorOf(as(user)(turn({ message: "FAIL at once" })))
            expect(fresh._tag).toBe("AgentError")
            const chat = yield* ChatService
            const conversations = yield* as(user)(chat.listConversations({}))
            const started = conversations.items.find((c) => c.title === "FAIL at once")!
            expect((yield* as(user)(allMessages(started.id))).map((m) => m.role)).toEqual(["user"])
          })
      )

      it.effect(
        "C6: a streamed turn reports tool calls, results and text, then stores and returns the same reply",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const chat = yield* ChatService
            const stream = yield* as(user)(chat.turnStream({ message: "I need to remember to pay bills" }))
            const events: Array<ChatEvent> = [...(yield* Stream.runCollect(stream))]
            expect(events.map((e) => e.type)).toEqual(["tool_call", "tool_result", "delta", "done"])
            const done = events.at(-1) as Extract<ChatEvent, { type: "done" }>
            expect(done.reply.agent_response).toMatch(/^Added task #\d+ "Pay bills"\.$/)
            expect(events[0]).toMatchObject({
              call: { name: "todo_create", arguments: { title: "Pay bills" } }
            })
            expect(events[1]).toMatchObject({ call: { name: "todo_create", is_error: false } })
            const messages = yield* as(user)(allMessages(done.reply.conversation_id))
            expect(messages.map((m) => m.role)).toEqual(["user", "assistant"])
            expect(messages[1]!.content).toBe(done.reply.agent_response)
            expect(messages[1]!.tool_calls).toEqual(done.reply.tool_calls)

            // Bad input and unknown conversations fail before any stream exists.
            const bad = yield* errorOf(as(user)(chat.turnStream({ message: "" })))
            expect(bad._tag).toBe("InvalidParameters")
            const unknown = yield* errorOf(
              as(user)(chat.turnStream({ message: "hi", conversation_id: crypto.randomUUID() }))
            )
            expect(unknown._tag).toBe("ConversationNotFound")

            // A model failing mid-stream keeps the user message and stores no reply.
            const failing = yield* as(user)(
              chat.turnStream({ message: "FAIL midway", conversation_id: done.reply.conversation_id })
            )
            const failure = yield* errorOf(Stream.runCollect(failing))
            expect(failure).toMatchObject({ _tag: "AgentError", reason: "model_timeout" })
            const after = yield* as(user)(allMessages(done.reply.conversation_id))
            expect(after.map((m) => [m.role, m.content])).toEqual([
              ["user", "I need to remember to pay bills"],
              ["assistant", done.reply.agent_response],
              ["user", "FAIL midway"]
            ])
          })
      )

      it.effect(
        "C7: conversations list newest first and page; messages page in order; delete removes them",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const chat = yield* ChatService
            const ids: Array<string> = []
            for (const n of [1, 2, 3]) {
              ids.push((yield* as(user)(turn({ message: `add a task to step ${n}` }))).conversation_id)
            }
            // Continuing the first conversation makes it the most recent one.
            yield* as(user)(turn({ message: "what's pending?", conversation_id: ids[0]! }))
            const first = yield* as(user)(chat.listConversations({ limit: 2 }))
            expect(first.items.map((c) => c.id)).toEqual([ids[0], ids[2]])
            expect(first.next_cursor).not.toBeNull()
            const second = yield* as(user)(chat.listConversations({ limit: 2, cursor: first.next_cursor! }))
            expect(second.items.map((c) => c.id)).toEqual([ids[1]])
            expect(second.next_cursor).toBeNull()

            const page1 = yield* as(user)(chat.listMessages(ids[0]!, { limit: 3 }))
            expect(page1.items.map((m) => m.role)).toEqual(["user", "assistant", "user"])
            const page2 = yield* as(user)(
              chat.listMessages(ids[0]!, { limit: 3, cursor: page1.next_cursor! })
            )
            expect(page2.items.map((m) => m.content)).toEqual([expect.stringContaining("pending task")])
            expect(page2.next_cursor).toBeNull()

            const badCursor = yield* errorOf(as(user)(chat.listConversations({ cursor: "nonsense" })))
            expect(String(badCursor.message)).toContain("cursor")
            const badLimit = yield* errorOf(as(user)(chat.listMessages(ids[0]!, { limit: 0 })))
            expect(String(badLimit.message)).toContain("limit")

            const other = newUser()
            expect((yield* errorOf(as(other)(chat.listMessages(ids[0]!, {}))))._tag).toBe(
              "ConversationNotFound"
            )
            expect((yield* errorOf(as(other)(chat.deleteConversation(ids[0]!))))._tag).toBe(
              "ConversationNotFound"
            )

            yield* as(user)(chat.deleteConversation(ids[0]!))
            expect((yield* errorOf(as(user)(chat.listMessages(ids[0]!, {}))))._tag).toBe(
              "ConversationNotFound"
            )
            expect((yield* errorOf(as(user)(chat.deleteConversation(ids[0]!))))._tag).toBe(
              "ConversationNotFound"
            )
            expect((yield* as(user)(chat.listConversations({}))).items.map((c) => c.id)).toEqual([
              ids[2],
              ids[1]
            ])
            // The tasks made through chat are not part of the conversation and stay.
            expect((yield* as(user)(allTasks)).map((t) => t.title)).toEqual(["Step 1", "Step 2", "Step 3"])
          })
      )
    })
  })
}

const databaseUrl = realPostgresUrl()
if (databaseUrl !== undefined) {
  describe("ChatService's statements on postgres", () => {
    it.live(
      "C31: a turn that continues a conversation reads its history and settings and stores the message in one write",
      () =>
        Effect.gen(function* () {
          // Every connection of the layer below goes through the proxy, which counts the writes.
          const { proxy, url } = yield* proxyFor(databaseUrl)
          yield* Effect.gen(function* () {
            const user = newUser()
            const first = yield* as(user)(turn({ message: "add a task to call the bank" }))
            const next = { message: "show me all my tasks", conversation_id: first.conversation_id }
            // The first continuing turn prepares its statements; the second sends only them.
            yield* as(user)(turn(next))
            const before = proxy.sent()
            const reply = yield* as(user)(turn(next))
            const writes = proxy.sent() - before
            expect(reply.tool_calls.map((call) => call.name)).toEqual(["todo_list"])
            // The history excludes the message stored in the same write, and holds the four before it.
            expect(lastInput().history.map((m) => m.content)).toEqual([
              "add a task to call the bank",
              first.agent_response,
              "show me all my tasks",
              expect.stringContaining("Call the bank")
            ])
            expect(yield* as(user)(allMessages(first.conversation_id))).toHaveLength(6)
            // One write for history, settings and message, one for the tool's list, one for the reply.
            expect(writes).toBe(3)
          }).pipe(Effect.provide(chatLayer(postgresLayer(url), observedRunner, { historyLimit: 4 })))
        }).pipe(Effect.scoped),
      60_000
    )
  })
}
