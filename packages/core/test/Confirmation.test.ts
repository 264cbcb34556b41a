/**
 * Confirmation before destructive chat actions, through ChatService with the offline
 * interpreter on every test database: a delete or a large batch becomes a pending action; it
 * is carried out once when confirmed (explicitly or in words) and never when declined,
 * expired, reused, superseded or foreign; a setting turns the confirmation off.
 */
import { describe, expect, layer } from "@effect/vitest"
import { OfflineAgentRunner } from "@taskport/agent"
import { AgentRunner, type ChatTurnParams, InvalidParameters, TodoService, type UserId } from "@taskport/core"
import { allTasks, as, chatLayer, createTask, turn } from "@taskport/test-support/ChatHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer, Stream } from "effect"
import { SqlClient } from "effect/sql"

const say = (user: UserId, params: ChatTurnParams) => as(user)(turn(params))
const titles = (user: UserId) => Effect.map(as(user)(allTasks), (tasks) => tasks.map((task) => task.title))

for (const database of testDatabases()) {
  describe(`chat confirmation on ${database.name}`, () => {
    layer(chatLayer(database.layer()), { timeout: 120_000 })((it) => {
      it.effect("W20: a delete in chat asks, naming the task, and changes nothing yet", () =>
        Effect.gen(function* () {
          const user = newUser()
          const task = yield* as(user)(createTask("Buy milk"))
          const reply = yield* say(user, { message: `delete task ${task.id}` })
          expect(reply.agent_response).toBe(`Delete task ${task.id} 'Buy milk'? yes / no`)
          expect(reply.pending_action).toMatchObject({ summary: `Delete task ${task.id} 'Buy milk'` })
          expect(Date.parse(reply.pending_action!.expires_at)).toBeGreaterThan(Date.now())
          expect(yield* titles(user)).toEqual(["Buy milk"])
        })
      )

      it.effect("W21: confirming runs the stored call exactly once; a reused confirmation does nothing", () =>
        Effect.gen(function* () {
          const user = newUser()
          const task = yield* as(user)(createTask("Buy milk"))
          const asked = yield* say(user, { message: `delete task ${task.id}` })
          const conversation_id = asked.conversation_id
          const id = asked.pending_action!.id
          const done = yield* say(user, { conversation_id, confirm: id })
          expect(done.agent_response).toBe(`Done: Delete task ${task.id} 'Buy milk'.`)
          expect(done.tool_calls.map((call) => [call.name, call.is_error])).toEqual([["todo_delete", false]])
          expect(yield* titles(user)).toEqual([])
          // Even with the task back, the same confirmation does not delete it again.
          yield* as(user)(
            Effect.gen(function* () {
              return yield* (yield* TodoService).restore({ id: task.id })
            })
          )
          const again = yield* say(user, { conversation_id, confirm: id })
          expect(again.agent_response).toBe("Nothing was done: that action was already carried out.")
          expect(again.tool_calls).toEqual([])
          expect(yield* say(user, { conversation_id, message: "yes" })).toMatchObject({
            agent_response: expect.not.stringContaining("Done")
          })
          expect(yield* titles(user)).toEqual(["Buy milk"])
        })
      )

      it.effect(
        "W22: declining, explicitly or in words, does nothing; the declined action cannot be confirmed",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const task = yield* as(user)(createTask("Call the plumber"))
            const first = yield* say(user, { message: `delete task ${task.id}` })
            const conversation_id = first.conversation_id
            const declined = yield* say(user, { conversation_id, message: "no, keep it" })
            expect(declined.agent_response).toBe(
              `OK, I did not do it: Delete task ${task.id} 'Call the plumber'.`
            )
            const late = yield* say(user, { conversation_id, confirm: first.pending_action!.id })
            expect(late.agent_response).toBe("Nothing was done: that action was declined.")
            const second = yield* say(user, { conversation_id, message: `delete task ${task.id}` })
            const explicit = yield* say(user, { conversation_id, decline: second.pending_action!.id })
            expect(explicit.agent_response).toMatch(/^OK, I did not do it/)
            expect(yield* titles(user)).toEqual(["Call the plumber"])
          })
      )

      it.effect(
        "W23: an expired, superseded, unknown or foreign pending action does nothing and says so",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const [user, other] = [newUser(), newUser()]
            const a = yield* as(user)(createTask("First"))
            const b = yield* as(user)(createTask("Second"))
            const one = yield* say(user, { message: `delete task ${a.id}` })
            const conversation_id = one.conversation_id
            const two = yield* say(user, { conversation_id, message: `delete task ${b.id}` })
            const superseded = yield* say(user, { conversation_id, confirm: one.pending_action!.id })
            expect(superseded.agent_response).toBe(
              "Nothing was done: that action was replaced by a newer request."
            )
            yield* sql`UPDATE pending_actions SET expires_at = now() - interval '1 minute' WHERE id = ${two.pending_action!.id}::uuid`
            const expired = yield* say(user, { conversation_id, confirm: two.pending_action!.id })
            expect(expired.agent_response).toMatch(/^Nothing was done: that confirmation has expired/)
            // "yes" with nothing open is an ordinary message.
            expect((yield* say(user, { conversation_id, message: "yes" })).tool_calls).toEqual([])
            const unknown = yield* say(user, { conversation_id, confirm: crypto.randomUUID() })
            expect(unknown.agent_response).toBe(
              "Nothing was done: there is no such pending action in this conversation."
            )

            // Another user can neither answer in this conversation nor use its action in theirs.
            const three = yield* say(user, { conversation_id, message: `delete task ${a.id}` })
            const foreign = yield* Effect.flip(
              say(other, { conversation_id, confirm: three.pending_action!.id })
            )
            expect(foreign._tag).toBe("ConversationNotFound")
            const theirs = yield* say(other, { message: "show me all my tasks" })
            const elsewhere = yield* say(other, {
              conversation_id: theirs.conversation_id,
              confirm: three.pending_action!.id
            })
            expect(elsewhere.agent_response).toBe(
              "Nothing was done: there is no such pending action in this conversation."
            )
            expect(yield* titles(user)).toEqual(["First", "Second"])
            // A foreign task is not asked about: the call fails as for a missing one.
            const probe = yield* say(other, { message: `delete task ${a.id}` })
            expect(probe.pending_action).toBeUndefined()
            expect(probe.tool_calls[0]!.is_error).toBe(true)
          })
      )

      it.effect(
        "W25: a turn with both message and confirm, or confirm without a conversation, names the field",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const id = crypto.randomUUID()
            const both = yield* Effect.flip(say(user, { message: "yes", confirm: id, conversation_id: null }))
            expect(both).toBeInstanceOf(InvalidParameters)
            expect((both as InvalidParameters).issues.map((issue) => issue.field)).toEqual(["message"])
            const alone = yield* Effect.flip(say(user, { confirm: id }))
            expect((alone as InvalidParameters).issues.map((issue) => issue.field)).toEqual([
              "conversation_id"
            ])
            const bad = yield* Effect.flip(say(user, { confirm: "not-an-id", conversation_id: id }))
            expect((bad as InvalidParameters).issues.map((issue) => issue.field)).toEqual(["confirm"])
          })
      )
    })

    // A runner that makes exactly the call its message spells, as a model might.
    const literal = Layer.succeed(
      AgentRunner,
      AgentRunner.of({
        run: (input) => {
          const { tool, args } = JSON.parse(input.message) as { tool: string; args: unknown }
          return Effect.map(input.tools.call(tool, args), (outcome) => ({
            content: "called",
            tool_calls: [{ id: "c1", name: tool, arguments: args, ...outcome }]
          }))
        },
        stream: () => Stream.die("not used")
      })
    )
    layer(chatLayer(database.layer(), literal), { timeout: 120_000 })((it) => {
      it.effect("W24: a batch that deletes or touches more than three tasks asks; a small one does not", () =>
        Effect.gen(function* () {
          const user = newUser()
          const task = yield* as(user)(createTask("Keep"))
          const call = (args: unknown) => say(user, { message: JSON.stringify({ tool: "todo_batch", args }) })
          const small = yield* call({
            items: [
              { op: "complete", id: task.id },
              { op: "create", title: "New" }
            ]
          })
          expect(small.pending_action).toBeUndefined()
          const creates = Array.from({ length: 4 }, (_, i) => ({ op: "create", title: `t${i}` }))
          const big = yield* call({ items: creates })
          expect(big.pending_action?.summary).toBe(
            "4 changes: Create 't0', Create 't1', Create 't2', Create 't3'"
          )
          const deleting = yield* call({ items: [{ op: "delete", id: task.id }] })
          expect(deleting.pending_action?.summary).toBe(`Delete task ${task.id} 'Keep'`)
          expect(yield* titles(user)).toEqual(["Keep", "New"])
          const done = yield* say(user, {
            conversation_id: deleting.conversation_id,
            confirm: deleting.pending_action!.id
          })
          expect(done.tool_calls[0]!.result).toMatchObject({ applied: 1 })
          expect(yield* titles(user)).toEqual(["New"])
        })
      )
    })

    layer(chatLayer(database.layer(), OfflineAgentRunner.layer, { confirmDestructive: false }), {
      timeout: 120_000
    })((it) => {
      it.effect("W24: with confirmation turned off, a delete in chat happens at once", () =>
        Effect.gen(function* () {
          const user = newUser()
          const task = yield* as(user)(createTask("Go"))
          const reply = yield* say(user, { message: `delete task ${task.id}` })
          expect(reply.pending_action).toBeUndefined()
          expect(reply.agent_response).toBe(`Deleted task #${task.id} "Go".`)
          expect(yield* titles(user)).toEqual([])
        })
      )
    })
  })
}
