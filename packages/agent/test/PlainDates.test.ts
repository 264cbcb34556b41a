/**
 * Dates and repetition in plain words: table-driven readings of many phrasings in five
 * zones, then the offline interpreter through ChatService on PGlite with the clock under
 * `TestClock`: creating with dues and rules, today / overdue / upcoming questions, moving,
 * skipping, and completions by day, all in the user's zone.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { OfflineAgentRunner, PlainDates } from "@taskport/agent"
import { type ChatReply, type LocalNow, SettingsService, TodoService, type UserId } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { as, chatLayer, turn } from "@taskport/test-support/ChatHarness"
import { newUser } from "@taskport/test-support/Users"
import { Effect, type Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"

const at = (iso: string, timeZone: string): LocalNow => ({
  epochMillis: Date.parse(iso),
  timeZone,
  weekStart: "monday"
})

// Tuesday 2026-12-01 22:00 in Los Angeles is already Wednesday 2026-12-02 in UTC and east of it.
const LA = at("2026-12-02T06:00:00Z", "America/Los_Angeles")
const UTC = at("2026-12-02T06:00:00Z", "UTC")
const PARIS = at("2026-03-27T10:00:00Z", "Europe/Paris") // Friday before the DST change
const KOLKATA = at("2026-01-31T19:00:00Z", "Asia/Kolkata") // 00:30 on Sunday Feb 1
const AUCKLAND = at("2026-12-31T11:30:00Z", "Pacific/Auckland") // 00:30 on Friday Jan 1 2027

const readings: ReadonlyArray<readonly [LocalNow, string, PlainDates.Scheduled]> = [
  [LA, "call mom tomorrow at 5pm", { title: "Call mom", due: "2026-12-02T17:00[America/Los_Angeles]" }],
  [UTC, "call mom tomorrow at 5pm", { title: "Call mom", due: "2026-12-03T17:00[UTC]" }],
  [LA, "submit the report by friday", { title: "Submit the report", due: "2026-12-04" }],
  [KOLKATA, "renew insurance tomorrow", { title: "Renew insurance", due: "2026-02-02" }],
  [AUCKLAND, "book flights today", { title: "Book flights", due: "2027-01-01" }],
  [
    AUCKLAND,
    "dinner with Sam on jan 3 at 7:30pm",
    { title: "Dinner with Sam", due: "2027-01-03T19:30[Pacific/Auckland]" }
  ],
  [LA, "buy milk", { title: "Buy milk" }],
  [
    LA,
    "pay rent on the 1st every month",
    { title: "Pay rent", due: "2026-12-01", recurrence: "FREQ=MONTHLY;BYMONTHDAY=1" }
  ],
  [
    UTC,
    "pay rent on the 1st every month",
    { title: "Pay rent", due: "2027-01-01", recurrence: "FREQ=MONTHLY;BYMONTHDAY=1" }
  ],
  [
    PARIS,
    "standup every monday at 9am",
    {
      title: "Standup",
      due: "2026-03-30T09:00:00.000+02:00[Europe/Paris]",
      recurrence: "FREQ=WEEKLY;BYDAY=MO"
    }
  ],
  [
    LA,
    "water the plants every other day",
    { title: "Water the plants", due: "2026-12-01", recurrence: "FREQ=DAILY;INTERVAL=2" }
  ],
  [
    KOLKATA,
    "pay the card on the last friday of every month",
    { title: "Pay the card", due: "2026-02-27", recurrence: "FREQ=MONTHLY;BYDAY=-1FR" }
  ],
  [
    AUCKLAND,
    "review goals every weekday",
    { title: "Review goals", due: "2027-01-01", recurrence: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" }
  ],
  [
    LA,
    "renew passport every year on march 3",
    { title: "Renew passport", due: "2027-03-03", recurrence: "FREQ=YEARLY" }
  ],
  [
    LA,
    "gym on mondays and thursdays until january 31",
    { title: "Gym", due: "2026-12-03", recurrence: "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270131" }
  ],
  [
    UTC,
    "take vitamins daily for 30 times",
    { title: "Take vitamins", due: "2026-12-02", recurrence: "FREQ=DAILY;COUNT=30" }
  ]
]

describe("plain-words dates", () => {
  it.each(readings.map(([now, text, expected]) => [now.timeZone, text, now, expected] as const))(
    "T14: in %s, %s",
    (_zone, text, now, expected) => {
      expect(PlainDates.schedule(text, now)).toEqual(expected)
    }
  )
})

// What the interpreter makes of a whole message, in Los Angeles on Tuesday 2026-12-01 at 22:00.
const messages: ReadonlyArray<readonly [string, PlainDates.Scheduled]> = [
  ["remind me to buy flowers on saturday", { title: "Buy flowers", due: "2026-12-05" }],
  [
    "schedule a call with Ana for thursday 10am",
    { title: "Call with Ana", due: "2026-12-03T10:00[America/Los_Angeles]" }
  ],
  ["book a table for friday 7pm", { title: "Book a table", due: "2026-12-04T19:00[America/Los_Angeles]" }],
  ["renew car insurance on 2027-01-15", { title: "Renew car insurance", due: "2027-01-15" }],
  ["I need to call the bank tomorrow", { title: "Call the bank", due: "2026-12-02" }],
  [
    "pay the electricity bill every month on the 15th",
    { title: "Pay the electricity bill", due: "2026-12-15", recurrence: "FREQ=MONTHLY;BYMONTHDAY=15" }
  ],
  [
    "add a task: quarterly report every 3 months on the 1st",
    { title: "Quarterly report", due: "2026-12-01", recurrence: "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1" }
  ],
  [
    "every other monday at 8am team retro",
    {
      title: "Team retro",
      due: "2026-12-07T08:00:00.000-08:00[America/Los_Angeles]",
      recurrence: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"
    }
  ],
  [
    "don't forget to water plants every 3 days",
    { title: "Water plants", due: "2026-12-01", recurrence: "FREQ=DAILY;INTERVAL=3" }
  ]
]

describe("messages that add a task", () => {
  it.each(messages)("T14: %s", (message, expected) => {
    const command = OfflineAgentRunner.parse(message)
    expect(command.kind).toBe("create")
    if (command.kind === "create") expect(PlainDates.schedule(command.title, LA)).toEqual(expected)
  })

  it.each([
    ["what's on my plate today?", { kind: "due", view: "today" }],
    ["anything late?", { kind: "due", view: "overdue" }],
    ["show tasks without a due date", { kind: "due", view: "none" }],
    ["list my tasks due in the next 14 days", { kind: "due", view: "upcoming" }],
    ["do I have anything due on friday?", { kind: "due", view: "today" }],
    [
      "reschedule task 3 to tomorrow morning",
      { kind: "reschedule", target: { id: 3 }, when: "tomorrow morning" }
    ],
    ["task 7 is due on december 20", { kind: "reschedule", target: { id: 7 }, when: "on december 20" }],
    [
      "move the dentist to monday 9am",
      { kind: "reschedule", target: { query: "dentist" }, when: "monday 9am" }
    ],
    ["skip this week's standup", { kind: "skip", target: { query: "standup" } }]
  ] as const)("T15: %s", (message, expected) => {
    expect(OfflineAgentRunner.parse(message)).toMatchObject(expected)
  })
})

const calls = (reply: ChatReply) => reply.tool_calls.map((call) => [call.name, call.arguments])
const say = (user: UserId, message: string) => as(user)(turn({ message }))

describe("the offline interpreter in the user's zone", () => {
  layer(chatLayer(PgDatabase.layerPglite(), OfflineAgentRunner.layer), {
    timeout: 120_000,
    excludeTestServices: true
  })((base) => {
    // Each test gets its own TestClock; the database layer keeps the real one, which its pool needs.
    const it = {
      effect: <A, E>(
        name: string,
        self: () => Effect.Effect<A, E, Layer.Success<ReturnType<typeof chatLayer>> | Scope.Scope>
      ) => base.effect(name, () => Effect.provide(self(), TestClock.layer()))
    }
    it.effect("T15: creating, asking what's due, moving and skipping, in Los Angeles", () =>
      Effect.gen(function* () {
        const user = newUser()
        yield* TestClock.setTime(LA.epochMillis)
        yield* as(user)((yield* SettingsService).replace({ time_zone: "America/Los_Angeles" }))
        const todos = yield* TodoService
        const taxes = yield* as(user)(todos.create({ title: "File taxes", due: "2026-11-30" }))

        const mom = yield* say(user, "Remind me to call mom tomorrow at 5pm!")
        expect(calls(mom)).toEqual([
          [
            "todo_create",
            expect.objectContaining({
              title: "Call mom",
              due: "2026-12-02T17:00[America/Los_Angeles]"
            })
          ]
        ])
        const momId = (mom.tool_calls[0]!.result as { id: number }).id
        expect(mom.agent_response).toBe(`Added task #${momId} "Call mom", due tomorrow at 17:00.`)

        const rent = yield* say(user, "pay rent on the 1st every month")
        const rentTask = rent.tool_calls[0]!.result as { id: number; due: string; recurrence: string }
        expect(rentTask).toMatchObject({ due: "2026-12-01", recurrence: "FREQ=MONTHLY;BYMONTHDAY=1" })
        expect(rent.agent_response).toBe(
          `Added task #${rentTask.id} "Pay rent", due today, repeating every month on day 1.`
        )

        const today = yield* say(user, "what's due today?")
        expect(calls(today)).toEqual([
          ["todo_list", expect.objectContaining({ due: "today", status: "pending" })]
        ])
        expect(today.agent_response).toBe(`1 task due today:\n- #${rentTask.id} Pay rent (due today)`)

        const overdue = yield* say(user, "anything overdue")
        expect(calls(overdue)).toEqual([["todo_list", expect.objectContaining({ due: "overdue" })]])
        expect(overdue.agent_response).toBe(`1 task overdue:\n- #${taxes.id} File taxes (due yesterday)`)

        const tomorrow = yield* say(user, "what do I have due tomorrow?")
        expect(tomorrow.agent_response).toBe(
          `1 task due tomorrow:\n- #${momId} Call mom (due tomorrow at 17:00)`
        )

        const moved = yield* say(user, `move task ${momId} to friday`)
        expect(calls(moved)).toEqual([["todo_update", { id: momId, due: "2026-12-04" }]])
        expect(moved.agent_response).toBe(`Moved task #${momId} "Call mom" to Friday 2026-12-04.`)

        const later = yield* say(user, `postpone the taxes task until next monday at 9am`)
        expect(calls(later)).toEqual([
          ["todo_list", { query: "taxes" }],
          ["todo_update", { id: taxes.id, due: "2026-12-07T09:00[America/Los_Angeles]" }]
        ])

        const skipped = yield* say(user, `skip task ${rentTask.id}`)
        expect(calls(skipped)).toEqual([["todo_complete", { id: rentTask.id, skip: true }]])
        expect(skipped.agent_response).toBe(
          `Skipped this occurrence of task #${rentTask.id} "Pay rent"; it is now due Friday 2027-01-01.`
        )

        const week = yield* say(user, "what's coming up in the next 3 days?")
        expect(calls(week)).toEqual([
          ["todo_list", expect.objectContaining({ due: "upcoming", due_within_days: 3 })]
        ])
        expect(week.agent_response).toBe(
          `1 task due in the next 3 days:\n- #${momId} Call mom (due Friday 2026-12-04)`
        )

        yield* say(user, `mark task ${momId} as done`)
        const done = yield* say(user, "what did I finish today?")
        expect(calls(done)).toEqual([
          [
            "todo_list",
            expect.objectContaining({
              status: "completed",
              completed_after: "2026-12-01",
              completed_before: "2026-12-02"
            })
          ]
        ])
      })
    )

    it.effect("T15: the same words mean the user's day: UTC is already a day ahead of Los Angeles", () =>
      Effect.gen(function* () {
        const user = newUser()
        yield* TestClock.setTime(UTC.epochMillis)
        const todos = yield* TodoService
        yield* as(user)(todos.create({ title: "Due Dec 1", due: "2026-12-01" }))
        expect((yield* say(user, "what's due today?")).agent_response).toBe("Nothing is due today.")
        expect((yield* say(user, "what's overdue?")).agent_response).toContain("Due Dec 1 (due yesterday)")
        yield* as(user)((yield* SettingsService).replace({ time_zone: "America/Los_Angeles" }))
        expect((yield* say(user, "what's due today?")).agent_response).toContain("Due Dec 1 (due today)")
        expect((yield* say(user, "what's overdue?")).agent_response).toBe("Nothing is overdue.")
      })
    )
  })
})
