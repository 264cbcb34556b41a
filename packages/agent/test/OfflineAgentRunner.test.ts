/**
 * The offline runner through the chat use case over PGlite: each English command shape
 * makes exactly the expected tool calls and leaves the expected tasks in the database, with
 * a reply that names the task; lookups by title ask when several match and say so when none
 * does; anything else gets the help text, which says it is not an AI.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { OfflineAgentRunner } from "@taskport/agent"
import type { ChatReply, UserId } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { allTasks, as, chatLayer, createTask, turn } from "@taskport/test-support/ChatHarness"
import { newUser } from "@taskport/test-support/Users"
import { Effect } from "effect"

const calls = (reply: ChatReply) => reply.tool_calls.map((call) => [call.name, call.arguments])

const say = (user: UserId, message: string, conversation?: string) =>
  as(user)(turn(conversation === undefined ? { message } : { message, conversation_id: conversation }))

const state = (user: UserId) =>
  Effect.map(as(user)(allTasks), (tasks) => tasks.map((task) => [task.id, task.title, task.completed]))

describe("OfflineAgentRunner.parse", () => {
  it("C9: reads each supported phrasing into its command", () => {
    const parse = OfflineAgentRunner.parse
    expect(parse("add a task to buy groceries")).toEqual({ kind: "create", title: "Buy groceries" })
    expect(parse("I need to remember to pay bills")).toEqual({ kind: "create", title: "Pay bills" })
    expect(parse("Please create a task called 'Water the plants'.")).toEqual({
      kind: "create",
      title: "Water the plants"
    })
    expect(parse("remind me to call the dentist")).toEqual({ kind: "create", title: "Call the dentist" })
    expect(parse("show me all my tasks")).toEqual({ kind: "list", status: "all" })
    expect(parse("what's pending?")).toEqual({ kind: "list", status: "pending" })
    expect(parse("what have I completed?")).toEqual({ kind: "list", status: "completed" })
    expect(parse("mark task 3 as complete")).toEqual({ kind: "complete", target: { id: 3 }, completed: true })
    expect(parse("mark task #3 as not done")).toEqual({
      kind: "complete",
      target: { id: 3 },
      completed: false
    })
    expect(parse("delete task 2")).toEqual({ kind: "delete", target: { id: 2 } })
    expect(parse("delete the meeting task")).toEqual({ kind: "delete", target: { query: "meeting" } })
    expect(parse("change task 1 to 'Call mom tonight'")).toEqual({
      kind: "rename",
      target: { id: 1 },
      title: "Call mom tonight"
    })
    expect(parse("mark the groceries task as done")).toEqual({
      kind: "complete",
      target: { query: "groceries" },
      completed: true
    })
    expect(parse("what is the meaning of life?")).toEqual({ kind: "help" })
    expect(parse("   ")).toEqual({ kind: "help" })
  })
})

describe("OfflineAgentRunner through ChatService on PGlite", () => {
  layer(chatLayer(PgDatabase.layerPglite(), OfflineAgentRunner.layer), { timeout: 120_000 })((it) => {
    it.effect("C9: the commands make exactly the expected tool calls and database changes", () =>
      Effect.gen(function* () {
        const user = newUser()
        const added = yield* say(user, "add a task to buy groceries")
        const conversation = added.conversation_id
        expect(calls(added)).toEqual([["todo_create", { title: "Buy groceries" }]])
        const [groceries] = yield* state(user)
        const groceriesId = groceries![0] as number
        expect(added.agent_response).toBe(`Added task #${groceriesId} "Buy groceries".`)

        const bills = yield* say(user, "I need to remember to pay bills", conversation)
        expect(calls(bills)).toEqual([["todo_create", { title: "Pay bills" }]])
        const billsId = (bills.tool_calls[0]!.result as { id: number }).id
        expect(bills.agent_response).toBe(`Added task #${billsId} "Pay bills".`)

        const all = yield* say(user, "show me all my tasks", conversation)
        expect(calls(all)).toEqual([["todo_list", { status: "all" }]])
        expect(all.agent_response).toBe(
          `You have 2 tasks:\n- #${billsId} Pay bills\n- #${groceriesId} Buy groceries`
        )

        const done = yield* say(user, `mark task ${groceriesId} as complete`, conversation)
        expect(calls(done)).toEqual([["todo_complete", { id: groceriesId }]])
        expect(done.agent_response).toBe(`Marked task #${groceriesId} "Buy groceries" as complete.`)

        const pending = yield* say(user, "what's pending?", conversation)
        expect(calls(pending)).toEqual([["todo_list", { status: "pending" }]])
        expect(pending.agent_response).toBe(`You have 1 pending task:\n- #${billsId} Pay bills`)

        const completed = yield* say(user, "what have I completed?", conversation)
        expect(calls(completed)).toEqual([["todo_list", { status: "completed" }]])
        expect(completed.agent_response).toBe(
          `You have completed 1 task:\n- #${groceriesId} Buy groceries (done)`
        )

        const renamed = yield* say(user, `change task ${billsId} to 'Call mom tonight'`, conversation)
        expect(calls(renamed)).toEqual([["todo_update", { id: billsId, title: "Call mom tonight" }]])
        expect(renamed.agent_response).toBe(`Renamed task #${billsId} to "Call mom tonight".`)

        // A delete in chat asks first; "yes" carries out the stored call.
        const deleted = yield* say(user, `delete task ${groceriesId}`, conversation)
        expect(calls(deleted)).toEqual([["todo_delete", { id: groceriesId }]])
        expect(deleted.agent_response).toBe(`Delete task ${groceriesId} 'Buy groceries'? yes / no`)
        expect(deleted.pending_action?.summary).toBe(`Delete task ${groceriesId} 'Buy groceries'`)
        expect((yield* state(user)).map(([id]) => id)).toContain(groceriesId)
        const confirmed = yield* say(user, "yes", conversation)
        expect(calls(confirmed)).toEqual([["todo_delete", { id: groceriesId }]])
        expect(confirmed.agent_response).toBe(`Done: Delete task ${groceriesId} 'Buy groceries'.`)

        expect(yield* state(user)).toEqual([[billsId, "Call mom tonight", false]])
      })
    )

    it.effect(
      "C10: a task named by title is found with todo_list; several matches are asked about, none reported",
      () =>
        Effect.gen(function* () {
          const user = newUser()
          const standup = yield* as(user)(createTask("Team meeting"))
          yield* as(user)(createTask("Buy stamps"))

          const one = yield* say(user, "delete the meeting task")
          expect(calls(one)).toEqual([
            ["todo_list", { query: "meeting" }],
            ["todo_delete", { id: standup.id }]
          ])
          expect(one.agent_response).toBe(`Delete task ${standup.id} 'Team meeting'? yes / no`)
          yield* say(user, "yes", one.conversation_id)

          const a = yield* as(user)(createTask("Meeting notes"))
          const b = yield* as(user)(createTask("Meeting with Sam"))
          const several = yield* say(user, "delete the meeting task")
          expect(calls(several)).toEqual([["todo_list", { query: "meeting" }]])
          expect(several.agent_response).toContain(`#${a.id} "Meeting notes"`)
          expect(several.agent_response).toContain(`#${b.id} "Meeting with Sam"`)
          expect(several.agent_response).toContain("Which one should I delete?")

          const none = yield* say(user, "delete the dentist task")
          expect(calls(none)).toEqual([["todo_list", { query: "dentist" }]])
          expect(none.agent_response).toBe('No task matches "dentist".')

          const byTitle = yield* say(user, "mark the stamps task as done")
          expect(calls(byTitle).map(([name]) => name)).toEqual(["todo_list", "todo_complete"])
          expect(byTitle.agent_response).toMatch(/^Marked task #\d+ "Buy stamps" as complete\.$/)

          expect((yield* state(user)).map(([, title, completed]) => [title, completed])).toEqual([
            ["Buy stamps", true],
            ["Meeting notes", false],
            ["Meeting with Sam", false]
          ])
        })
    )

    it.effect("C10: a missing task is reported plainly, and anything else gets the honest help text", () =>
      Effect.gen(function* () {
        const user = newUser()
        const missing = yield* say(user, "mark task 999999 as complete")
        expect(calls(missing)).toEqual([["todo_complete", { id: 999999 }]])
        expect(missing.tool_calls[0]!.is_error).toBe(true)
        expect(missing.agent_response).toBe(
          'I couldn\'t find task #999999. Say "show me all my tasks" to see their numbers.'
        )
        const help = yield* say(user, "tell me a joke")
        expect(help.tool_calls).toEqual([])
        expect(help.agent_response).toBe(OfflineAgentRunner.HELP)
        expect(help.agent_response).toContain("not an AI")
        const empty = yield* say(user, "show me all my tasks")
        expect(empty.agent_response).toBe('You have no tasks yet. Try "add a task to buy groceries".')
        expect(yield* state(user)).toEqual([])
      })
    )
  })
})
