/**
 * Settings and the due and completion views through the use cases, over the real
 * repositories on every test database, with the clock under `TestClock`: the zone's
 * precedence (stored, then requested, then UTC), per-user settings, and the today, overdue,
 * upcoming and none views in five zones at day, month, year and DST boundaries.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  addDays,
  type CreateTaskInput,
  CurrentUser,
  InvalidParameters,
  type ListTasksInput,
  localDate,
  RequestedTimeZone,
  SettingsService,
  TodoService,
  UserId
} from "@taskport/core"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { DateTime, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"

const newUser = () => UserId.make(`u-${crypto.randomUUID()}`)
const as =
  (id: UserId) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, CurrentUser, { id })
const requesting =
  (zone: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, RequestedTimeZone, Option.some(zone))

const create = (params: Record<string, unknown>) =>
  Effect.flatMap(TodoService, (todos) => todos.create(params as CreateTaskInput))
const titles = (params: Record<string, unknown>) =>
  Effect.gen(function* () {
    const page = yield* (yield* TodoService).list({ ...params, sort: "title" } as ListTasksInput)
    return page.items.map((task) => task.title)
  })

// now (UTC instant) and zone; the tasks' dues are placed around the user's own date there.
const scenarios: ReadonlyArray<readonly [string, string, string]> = [
  ["UTC", "2026-12-31T09:00:00Z", "year end"],
  ["America/Los_Angeles", "2026-03-08T12:00:00Z", "spring forward"],
  ["America/Los_Angeles", "2026-11-01T16:00:00Z", "fall back"],
  ["Europe/Paris", "2026-03-29T07:00:00Z", "spring forward"],
  ["Europe/Paris", "2026-10-25T08:00:00Z", "fall back"],
  ["Asia/Kolkata", "2026-01-31T19:00:00Z", "month boundary"],
  ["Pacific/Auckland", "2026-12-31T11:30:00Z", "new year"],
  ["Pacific/Auckland", "2026-09-26T20:00:00Z", "spring forward"]
]

type TimeViewServices = TodoService | SettingsService

for (const database of testDatabases()) {
  describe(`time views on ${database.name}`, () => {
    const services = Layer.merge(TodoService.layer, SettingsService.layer).pipe(
      Layer.provideMerge(database.layer())
    )

    layer(services, { timeout: 120_000, excludeTestServices: true })((base) => {
      // Each test gets its own TestClock; the database layer keeps the real one, which its pool needs.
      const it = {
        effect: <A, E>(name: string, self: () => Effect.Effect<A, E, TimeViewServices>) =>
          base.effect(name, () => Effect.provide(self(), TestClock.layer()))
      }
      it.effect("T1: settings default to no stored zone, computed in UTC; PUT and PATCH store them", () =>
        Effect.gen(function* () {
          const settings = yield* SettingsService
          expect(yield* settings.get).toEqual({
            time_zone: null,
            week_start: "monday",
            effective_time_zone: "UTC"
          })
          expect(yield* settings.replace({ time_zone: "europe/paris" })).toEqual({
            time_zone: "Europe/Paris",
            week_start: "monday",
            effective_time_zone: "Europe/Paris"
          })
          expect(yield* settings.patch({ week_start: "sunday" })).toMatchObject({
            time_zone: "Europe/Paris",
            week_start: "sunday"
          })
          // PUT replaces: a setting it leaves out goes back to its default.
          expect(yield* settings.replace({ week_start: "saturday" })).toEqual({
            time_zone: null,
            week_start: "saturday",
            effective_time_zone: "UTC"
          })
          const bad = yield* Effect.flip(
            settings.patch({ time_zone: "Mars/Olympus", colour: "red" } as never)
          )
          expect(bad).toBeInstanceOf(InvalidParameters)
          expect((bad as InvalidParameters).issues.map((issue) => issue.field).sort()).toEqual([
            "colour",
            "time_zone"
          ])
        }).pipe(as(newUser()))
      )

      it.effect(
        "T2: the stored zone wins over the requested one, which wins over UTC; users are separate",
        () =>
          Effect.gen(function* () {
            const settings = yield* SettingsService
            const [alice, bob] = [newUser(), newUser()]
            const effective = settings.get.pipe(Effect.map((s) => s.effective_time_zone))
            expect(yield* effective.pipe(requesting("Asia/Kolkata"), as(alice))).toBe("Asia/Kolkata")
            yield* settings.replace({ time_zone: "Pacific/Auckland" }).pipe(as(alice))
            expect(yield* effective.pipe(requesting("Asia/Kolkata"), as(alice))).toBe("Pacific/Auckland")
            expect(yield* effective.pipe(as(bob))).toBe("UTC")
            expect(yield* effective.pipe(requesting("America/Los_Angeles"), as(bob))).toBe(
              "America/Los_Angeles"
            )
          })
      )

      it.effect(
        "T3: a date-only due is the user's calendar day; changing the zone moves today, not the due",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            yield* TestClock.setTime(Date.parse("2026-12-02T06:00:00Z")) // 22:00 on Dec 1 in Los Angeles
            const task = yield* create({ title: "file report", due: "2026-12-01" }).pipe(as(user))
            const settings = yield* SettingsService
            yield* settings.replace({ time_zone: "America/Los_Angeles" }).pipe(as(user))
            expect(yield* titles({ due: "today" }).pipe(as(user))).toEqual(["file report"])
            expect(yield* titles({ due: "overdue" }).pipe(as(user))).toEqual([])
            yield* settings.replace({ time_zone: "UTC" }).pipe(as(user))
            expect(yield* titles({ due: "today" }).pipe(as(user))).toEqual([])
            expect(yield* titles({ due: "overdue" }).pipe(as(user))).toEqual(["file report"])
            const stored = yield* Effect.flatMap(TodoService, (t) => t.read({ id: task.id })).pipe(as(user))
            expect(stored.due).toBe("2026-12-01")
            // Until the user stores a zone, the request's zone decides.
            yield* settings.replace({}).pipe(as(user))
            expect(yield* titles({ due: "today" }).pipe(requesting("America/Los_Angeles"), as(user))).toEqual(
              ["file report"]
            )
          })
      )

      for (const [zone, now, label] of scenarios) {
        it.effect(`T4: views in ${zone} at ${label} (${now})`, () =>
          Effect.gen(function* () {
            const user = newUser()
            yield* TestClock.setTime(Date.parse(now))
            yield* (yield* SettingsService).replace({ time_zone: zone }).pipe(as(user))
            const today = localDate(Date.parse(now), DateTime.zoneMakeNamedUnsafe(zone))
            const day = (n: number) => addDays(today, n)
            const tasks: ReadonlyArray<readonly [string, string | null, boolean?]> = [
              ["a yesterday", day(-1)],
              ["b yesterday done", day(-1), true],
              ["c today", today],
              ["d today late", `${today}T23:30[${zone}]`],
              ["e today early", `${today}T00:00[${zone}]`],
              ["f tomorrow", day(1)],
              ["g tomorrow early", `${day(1)}T00:00[${zone}]`],
              ["h in seven days", day(7)],
              ["i in eight days", day(8)],
              ["j no due", null],
              ["k last month", `${day(-40)}T12:00[${zone}]`]
            ]
            for (const [title, due, done] of tasks) {
              const task = yield* create({ title, due }).pipe(as(user))
              if (done === true) yield* (yield* TodoService).complete({ id: task.id }).pipe(as(user))
            }
            expect(yield* titles({ due: "today" }).pipe(as(user))).toEqual([
              "c today",
              "d today late",
              "e today early"
            ])
            // Every scenario's now is after the local midnight, so the day's first minute has passed.
            expect(yield* titles({ due: "overdue" }).pipe(as(user))).toEqual([
              "a yesterday",
              "e today early",
              "k last month"
            ])
            expect(yield* titles({ due: "upcoming" }).pipe(as(user))).toEqual([
              "f tomorrow",
              "g tomorrow early",
              "h in seven days"
            ])
            expect(yield* titles({ due: "upcoming", due_within_days: 1 }).pipe(as(user))).toEqual([
              "f tomorrow",
              "g tomorrow early"
            ])
            expect(yield* titles({ due: "none" }).pipe(as(user))).toEqual(["j no due"])
            // Combined with the other filters.
            expect(yield* titles({ due: "today", query: "late" }).pipe(as(user))).toEqual(["d today late"])
            expect(yield* titles({ due: "overdue", status: "completed" }).pipe(as(user))).toEqual([])
            expect(
              yield* titles({ due: "upcoming", status: "pending", query: "seven" }).pipe(as(user))
            ).toEqual(["h in seven days"])
          })
        )
      }

      it.effect("T5: due_within_days without due=upcoming, and unknown views, are refused by name", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const alone = yield* Effect.flip(todos.list({ due_within_days: 3 }))
          expect(alone).toMatchObject({ issues: [{ field: "due_within_days" }] })
          const wrong = yield* Effect.flip(todos.list({ due: "tomorow" } as never))
          expect(wrong).toMatchObject({ issues: [{ field: "due" }] })
          const range = yield* Effect.flip(todos.list({ due: "upcoming", due_within_days: 0 }))
          expect(range).toMatchObject({ issues: [{ field: "due_within_days" }] })
        }).pipe(as(newUser()))
      )

      it.effect(
        "T12: completing a recurring task records it and schedules the next; reopening undoes that",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const todos = yield* TodoService
            yield* TestClock.setTime(Date.parse("2026-03-23T07:30:00Z")) // Monday 08:30 in Paris
            yield* (yield* SettingsService).replace({ time_zone: "Europe/Paris" }).pipe(as(user))
            const standup = yield* create({
              title: "standup",
              due: "2026-03-23T09:00[Europe/Paris]",
              recurrence: "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
              tags: ["work"]
            }).pipe(as(user))
            expect(standup.recurrence).toBe("FREQ=WEEKLY;BYDAY=MO;COUNT=3")
            const done = yield* todos.complete({ id: standup.id }).pipe(as(user))
            expect(done.completed).toBe(true)
            expect(done.next_occurrence_id).not.toBeNull()
            const next = yield* todos.read({ id: done.next_occurrence_id! }).pipe(as(user))
            expect(next).toMatchObject({
              title: "standup",
              tags: ["work"],
              completed: false,
              recurrence: "FREQ=WEEKLY;BYDAY=MO;COUNT=2",
              next_occurrence_id: null
            })
            // After the DST change, still 09:00 in Paris.
            expect(next.due).toContain("2026-03-30T09:00:00.000+02:00[Europe/Paris]")
            // History: the completed occurrence is listed with the completion filters.
            expect(yield* titles({ completed_after: "2026-01-01" }).pipe(as(user))).toEqual(["standup"])
            expect(yield* titles({ status: "pending" }).pipe(as(user))).toEqual(["standup"])
            // Reopening the occurrence removes the untouched next one: one open task again.
            const reopened = yield* todos.complete({ id: standup.id, completed: false }).pipe(as(user))
            expect(reopened).toMatchObject({ completed: false, next_occurrence_id: null })
            const open = yield* todos.list({ status: "pending" }).pipe(as(user))
            expect(open.items.map((task) => task.id)).toEqual([standup.id])
            // Repeating a completion is still harmless.
            const again = yield* todos.complete({ id: standup.id }).pipe(as(user))
            expect(yield* todos.complete({ id: standup.id }).pipe(as(user))).toEqual(again)
            expect((yield* todos.list({ status: "pending" }).pipe(as(user))).items).toHaveLength(1)
          })
      )

      it.effect(
        "T13: skip moves a recurring task to its next occurrence; the last one cannot be skipped",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const todos = yield* TodoService
            yield* TestClock.setTime(Date.parse("2026-01-30T06:00:00Z"))
            yield* (yield* SettingsService).replace({ time_zone: "Asia/Kolkata" }).pipe(as(user))
            const rent = yield* create({
              title: "rent",
              due: "2026-01-30",
              recurrence: "FREQ=MONTHLY;BYDAY=-1FR;COUNT=2"
            }).pipe(as(user))
            const skipped = yield* todos.complete({ id: rent.id, skip: true }).pipe(as(user))
            expect(skipped).toMatchObject({
              id: rent.id,
              completed: false,
              due: "2026-02-27",
              recurrence: "FREQ=MONTHLY;BYDAY=-1FR;COUNT=1"
            })
            const last = yield* Effect.flip(todos.complete({ id: rent.id, skip: true }).pipe(as(user)))
            expect(last).toMatchObject({ issues: [{ field: "skip" }] })
            // Completing the last occurrence schedules nothing.
            const done = yield* todos.complete({ id: rent.id }).pipe(as(user))
            expect(done).toMatchObject({ completed: true, next_occurrence_id: null })
            const plain = yield* create({ title: "plain" }).pipe(as(user))
            const notRecurring = yield* Effect.flip(
              todos.complete({ id: plain.id, skip: true }).pipe(as(user))
            )
            expect(notRecurring).toMatchObject({ issues: [{ field: "skip" }] })
            const noDue = yield* Effect.flip(create({ title: "x", recurrence: "FREQ=DAILY" }).pipe(as(user)))
            expect(noDue).toMatchObject({ issues: [{ field: "recurrence" }] })
            const clearDue = yield* Effect.flip(todos.update({ id: rent.id, due: null }).pipe(as(user)))
            expect(clearDue).toMatchObject({ issues: [{ field: "recurrence" }] })
            const badRule = yield* Effect.flip(
              create({ title: "x", due: "2026-01-01", recurrence: "FREQ=HOURLY" }).pipe(as(user))
            )
            expect(badRule).toMatchObject({ issues: [{ field: "recurrence" }] })
          })
      )

      it.effect(
        "T6: completed_after and completed_before select by completion time, dates in the user's zone",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const todos = yield* TodoService
            yield* (yield* SettingsService).replace({ time_zone: "Asia/Kolkata" }).pipe(as(user))
            const open = yield* create({ title: "open" }).pipe(as(user))
            const done = yield* create({ title: "done" }).pipe(as(user))
            const completed = yield* todos.complete({ id: done.id }).pipe(as(user))
            expect(open.completed).toBe(false)
            const at = completed.completed_at!
            const later = new Date(Date.parse(at) + 1).toISOString()
            expect(yield* titles({ completed_after: at }).pipe(as(user))).toEqual(["done"])
            expect(yield* titles({ completed_after: later }).pipe(as(user))).toEqual([])
            expect(yield* titles({ completed_before: later }).pipe(as(user))).toEqual(["done"])
            expect(yield* titles({ completed_before: at }).pipe(as(user))).toEqual([])
            const day = localDate(Date.parse(at), DateTime.zoneMakeNamedUnsafe("Asia/Kolkata"))
            expect(
              yield* titles({ completed_after: day, completed_before: addDays(day, 1) }).pipe(as(user))
            ).toEqual(["done"])
            expect(yield* titles({ completed_after: addDays(day, 1) }).pipe(as(user))).toEqual([])
            const bad = yield* Effect.flip(todos.list({ completed_after: "last week" }).pipe(as(user)))
            expect(bad).toMatchObject({ issues: [{ field: "completed_after" }] })
          })
      )
    })
  })
}
