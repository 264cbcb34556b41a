/**
 * Reminders over the real repositories, on every test database, under the test clock: a
 * reminder fires once when it comes (through the use case and through the serving process's
 * background fiber), never for a task completed or trashed before then, again after its due
 * or reminder changes, once with two firers at once, and its `task.reminder` event reaches
 * the event history and a signed webhook delivery.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  type CreateTaskInput,
  CurrentUser,
  DEFAULT_RETRY_POLICY,
  type DispatchOptions,
  dispatchOnce,
  EventHistory,
  fanOut,
  fireDueReminders,
  InvalidParameters,
  RequestedTimeZone,
  SettingsService,
  type Task,
  type TaskEvent,
  TodoService,
  type UpdateTaskInput,
  type UserId,
  WebhookService
} from "@taskport/core"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { startReceiver } from "@taskport/test-support/WebhookReceiver"
import { AddressGuard, HttpWebhookSender } from "@taskport/webhooks"
import { Duration, Effect, Fiber, Layer, Option, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { Webhook } from "standardwebhooks"
import * as Reminders from "../src/Reminders.ts"
import type { ServerConfig } from "../src/ServerConfig.ts"

const as = (user: UserId) => Effect.provideService(CurrentUser, { id: user })

const create = (user: UserId, input: Record<string, unknown>) =>
  Effect.flatMap(TodoService, (todos) => todos.create(input as CreateTaskInput)).pipe(as(user))
const update = (user: UserId, input: Record<string, unknown>) =>
  Effect.flatMap(TodoService, (todos) => todos.update(input as UpdateTaskInput)).pipe(as(user))

/** The user's `task.reminder` events, oldest first. */
const reminders = (user: UserId): Effect.Effect<ReadonlyArray<TaskEvent>, unknown, EventHistory> =>
  Effect.flatMap(EventHistory, (history) => history.list({ type: "task.reminder", limit: 100 })).pipe(
    Effect.map((page) => [...page.items].reverse()),
    as(user)
  )

/** 2030-01-01T00:00:00Z: the clock of every test starts here. */
const T0 = Date.UTC(2030, 0, 1)
const at = (offset: Duration.Input) =>
  new Date(T0 + Duration.toMillis(Duration.fromInputUnsafe(offset))).toISOString()

/**
 * Reminders are fired for every user, as in production: the ones an earlier test left armed
 * are settled first, so each test fires only its own.
 */
const quiesce = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`UPDATE tasks SET reminded_at = now() WHERE reminded_at IS NULL AND remind_at IS NOT NULL`
)

const dispatch: DispatchOptions = {
  policy: DEFAULT_RETRY_POLICY,
  batch: 20,
  lease: Duration.seconds(30),
  concurrency: 4
}

for (const database of testDatabases()) {
  describe(`reminders on ${database.name}`, () => {
    const services = Layer.mergeAll(
      TodoService.layer,
      EventHistory.layer.pipe(Layer.provide(SettingsService.layer)),
      WebhookService.layer.pipe(Layer.provide(AddressGuard.layer({ allowPrivate: true }))),
      HttpWebhookSender.layer({ allowPrivate: true, timeout: Duration.seconds(5) })
    ).pipe(Layer.provideMerge(database.layer()))

    layer(services, { timeout: 120_000, excludeTestServices: true })((base) => {
      // Each test gets its own TestClock, set to T0; the database keeps the real one, which its pool needs.
      const it = {
        effect: <A, E>(
          name: string,
          self: () => Effect.Effect<A, E, Layer.Success<typeof services> | Scope.Scope>
        ) =>
          base.effect(name, () =>
            Effect.provide(
              Effect.andThen(Effect.andThen(quiesce, TestClock.setTime(T0)), self()),
              TestClock.layer()
            )
          )
      }

      it.effect("Q1: a reminder at an instant fires once, when it comes, with the whole task", () =>
        Effect.gen(function* () {
          const user = newUser()
          const task = yield* create(user, { title: "call the bank", reminder: "2030-01-01T01:00:00+01:00" })
          expect(task.reminder).toBe("2030-01-01T00:00:00.000Z")
          expect(task.remind_at).toBe("2030-01-01T00:00:00.000Z")
          const later = yield* create(user, { title: "pay rent", reminder: at("1 hour") })
          expect(later.remind_at).toBe("2030-01-01T01:00:00.000Z")

          yield* TestClock.setTime(T0 - 1)
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(0)

          yield* TestClock.setTime(T0)
          yield* fireDueReminders()
          const first = yield* reminders(user)
          expect(first.map((event) => event.task_id)).toEqual([task.id])
          expect(first[0]).toMatchObject({
            type: "task.reminder",
            task_version: task.version,
            task: { id: task.id, title: "call the bank", remind_at: "2030-01-01T00:00:00.000Z" },
            changes: {}
          })
          expect(first[0]!.actor).toMatchObject({ surface: "library", client: "taskport reminders" })

          yield* fireDueReminders()
          yield* TestClock.adjust(Duration.minutes(59))
          yield* fireDueReminders()
          expect((yield* reminders(user)).map((event) => event.task_id)).toEqual([task.id])
          yield* TestClock.adjust(Duration.minutes(1))
          yield* fireDueReminders()
          yield* TestClock.adjust(Duration.days(3))
          yield* fireDueReminders()
          expect((yield* reminders(user)).map((event) => event.task_id)).toEqual([task.id, later.id])
          // Firing changes nothing a client sees of the task: its version stays.
          const read = yield* Effect.flatMap(TodoService, (todos) => todos.read({ id: later.id })).pipe(
            as(user)
          )
          expect(read.version).toBe(later.version)
        })
      )

      it.effect("Q2: a reminder counts from the due; without a due it is refused, naming reminder", () =>
        Effect.gen(function* () {
          const user = newUser()
          const zoned = yield* create(user, {
            title: "train",
            due: "2030-01-01T10:00[Europe/Paris]",
            reminder: "-PT30M"
          })
          expect(zoned.reminder).toBe("-PT30M")
          expect(zoned.remind_at).toBe("2030-01-01T08:30:00.000Z")
          const after = yield* create(user, {
            title: "follow up",
            due: "2030-01-01T10:00Z[UTC]",
            reminder: "P1DT2H"
          })
          expect(after.remind_at).toBe("2030-01-02T12:00:00.000Z")
          // A date-only due is the day in the account's zone: the reminder counts from its start.
          const dated = yield* create(user, { title: "birthday", due: "2030-01-02", reminder: "-PT1H" }).pipe(
            Effect.provideService(RequestedTimeZone, Option.some("Asia/Tokyo"))
          )
          expect(dated.remind_at).toBe("2030-01-01T14:00:00.000Z")

          const refused = yield* Effect.flip(create(user, { title: "no due", reminder: "-PT30M" }))
          expect(refused).toBeInstanceOf(InvalidParameters)
          expect((refused as InvalidParameters).issues.map((issue) => issue.field)).toEqual(["reminder"])
          const cleared = yield* Effect.flip(update(user, { id: zoned.id, due: null }))
          expect((cleared as InvalidParameters).issues.map((issue) => issue.field)).toEqual(["reminder"])
          for (const bad of ["30 minutes", "-P1M", "PT", "2030-01-01", "2030-01-01T09:00", "-P999D"]) {
            const error = yield* Effect.flip(create(user, { title: "bad", reminder: bad }))
            expect((error as InvalidParameters).issues.map((issue) => issue.field)).toEqual(["reminder"])
          }
          // Nothing was written by the refused calls.
          const page = yield* Effect.flatMap(TodoService, (todos) => todos.list({})).pipe(as(user))
          expect(page.items).toHaveLength(3)
          const unchanged = yield* Effect.flatMap(TodoService, (todos) => todos.read({ id: zoned.id })).pipe(
            as(user)
          )
          expect(unchanged.due).toBe(zoned.due)
        })
      )

      it.effect("Q3: no reminder for a task completed or trashed before it came, even once reopened", () =>
        Effect.gen(function* () {
          const user = newUser()
          const done = yield* create(user, { title: "done early", reminder: at("1 hour") })
          const trashed = yield* create(user, { title: "dropped", reminder: at("1 hour") })
          const open = yield* create(user, { title: "still open", reminder: at("1 hour") })
          const todos = yield* TodoService
          yield* todos.complete({ id: done.id }).pipe(as(user))
          yield* todos.delete({ id: trashed.id }).pipe(as(user))
          yield* TestClock.adjust(Duration.hours(2))
          yield* fireDueReminders()
          expect((yield* reminders(user)).map((event) => event.task_id)).toEqual([open.id])
          // Their time passed while they were closed: reopening them does not bring it back.
          yield* todos.complete({ id: done.id, completed: false }).pipe(as(user))
          yield* todos.restore({ id: trashed.id }).pipe(as(user))
          yield* TestClock.adjust(Duration.hours(1))
          yield* fireDueReminders()
          expect((yield* reminders(user)).map((event) => event.task_id)).toEqual([open.id])
        })
      )

      it.effect("Q4: changing the due or the reminder arms it again; other changes do not", () =>
        Effect.gen(function* () {
          const user = newUser()
          const task = yield* create(user, {
            title: "meeting",
            due: "2030-01-01T02:00Z[UTC]",
            reminder: "-PT1H"
          })
          yield* TestClock.adjust(Duration.hours(1))
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(1)

          // The same reminder and due again, and a new title: nothing to remind of again.
          yield* update(user, {
            id: task.id,
            title: "team meeting",
            reminder: "-PT1H",
            due: "2030-01-01T02:00Z[UTC]"
          })
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(1)

          // The due moves: the reminder follows it and comes again.
          const moved = yield* update(user, { id: task.id, due: "2030-01-01T05:00Z[UTC]" })
          expect(moved.remind_at).toBe("2030-01-01T04:00:00.000Z")
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(1)
          yield* TestClock.setTime(Date.parse("2030-01-01T04:00:00Z"))
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(2)

          // A new reminder, then one moved before it came: only the last one fires.
          yield* update(user, { id: task.id, reminder: "2030-01-01T06:00:00Z" })
          yield* update(user, { id: task.id, reminder: "2030-01-01T07:00:00Z" })
          yield* TestClock.setTime(Date.parse("2030-01-01T06:30:00Z"))
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(2)
          yield* TestClock.setTime(Date.parse("2030-01-01T07:00:00Z"))
          yield* fireDueReminders()
          const events = yield* reminders(user)
          expect(events).toHaveLength(3)
          expect(events[2]!.task?.remind_at).toBe("2030-01-01T07:00:00.000Z")

          // Cleared: nothing more comes.
          const cleared = yield* update(user, { id: task.id, reminder: null, due: "2030-01-02T05:00Z[UTC]" })
          expect(cleared.reminder).toBeNull()
          expect(cleared.remind_at).toBeNull()
          yield* TestClock.adjust(Duration.days(2))
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(3)
        })
      )

      it.effect(
        "Q4: a recurring task's next occurrence keeps a reminder counted from the due, not one at an instant",
        () =>
          Effect.gen(function* () {
            const user = newUser()
            const todos = yield* TodoService
            const weekly = { due: "2030-01-07T09:00[UTC]", recurrence: "FREQ=WEEKLY;BYDAY=MO" }
            const relative = yield* create(user, { title: "weekly review", ...weekly, reminder: "-PT1H" })
            const fixed = yield* create(user, {
              title: "one-off call",
              ...weekly,
              reminder: "2030-01-07T07:00:00Z"
            })
            const nextOf = (task: Task) =>
              Effect.gen(function* () {
                const done = yield* todos.complete({ id: task.id }).pipe(as(user))
                return yield* todos.read({ id: done.next_occurrence_id! }).pipe(as(user))
              })
            const next = yield* nextOf(relative)
            expect(next).toMatchObject({ due: "2030-01-14T09:00:00.000+00:00[UTC]", reminder: "-PT1H" })
            expect(next.remind_at).toBe("2030-01-14T08:00:00.000Z")
            expect((yield* nextOf(fixed)).reminder).toBeNull()
            // The completed occurrence's reminder never fires; the next one's does.
            yield* TestClock.setTime(Date.parse("2030-01-14T08:00:00Z"))
            yield* fireDueReminders()
            expect((yield* reminders(user)).map((event) => event.task_id)).toEqual([next.id])
          })
      )

      it.effect("Q5: two firers at once fire each reminder once", () =>
        Effect.gen(function* () {
          const user = newUser()
          const tasks: Array<Task> = []
          for (let i = 0; i < 30; i++)
            tasks.push(yield* create(user, { title: `task ${i}`, reminder: at(`${i} seconds`) }))
          yield* TestClock.adjust(Duration.minutes(1))
          const [a, b] = yield* Effect.all([fireDueReminders(), fireDueReminders()], { concurrency: 2 })
          expect(a.fired + b.fired).toBe(30)
          yield* fireDueReminders()
          const events = yield* reminders(user)
          expect(events.map((event) => event.task_id).sort((x, y) => x - y)).toEqual(
            tasks.map((task) => task.id).sort((x, y) => x - y)
          )
        })
      )

      it.effect("Q6: a reminder reaches the event history and a signed webhook delivery", () =>
        Effect.gen(function* () {
          const hook = yield* Effect.acquireRelease(
            Effect.promise(() => startReceiver()),
            (r) => Effect.promise(() => r.close())
          )
          const user = newUser()
          const webhooks = yield* WebhookService
          const endpoint = yield* webhooks
            .create({ url: hook.url, event_types: ["task.reminder"] })
            .pipe(as(user))
          // The dispatcher signs with the clock's time, which the verifier checks against the real one.
          const now = Date.now()
          yield* TestClock.setTime(now - 600_000)
          const task = yield* create(user, {
            title: "water the plants",
            reminder: new Date(now).toISOString()
          })
          yield* fireDueReminders()
          expect(yield* reminders(user)).toHaveLength(0)
          yield* TestClock.adjust(Duration.minutes(10))
          yield* fireDueReminders()
          const [event] = yield* reminders(user)
          expect(event?.task_id).toBe(task.id)
          while ((yield* fanOut({ users: 1000, events: 100 })) > 0) {}
          while ((yield* dispatchOnce(dispatch)) > 0) {}
          const delivered = hook.received.filter((request) => request.headers["webhook-id"] === event!.id)
          expect(delivered).toHaveLength(1)
          const body = new Webhook(endpoint.secret).verify(delivered[0]!.body, delivered[0]!.headers)
          expect(body).toMatchObject({ type: "task.reminder", data: { id: event!.id, task_id: task.id } })
          const { items } = yield* webhooks.deliveries({ id: endpoint.id }).pipe(as(user))
          expect(items.map((item) => [item.event_type, item.status])).toEqual([
            ["task.reminder", "delivered"]
          ])
        })
      )

      it.effect("Q1: the serving process's reminder fiber fires on its poll interval", () =>
        Effect.gen(function* () {
          const user = newUser()
          const task = yield* create(user, { title: "stand up", reminder: at("5 seconds") })
          const config = { reminderPollMs: 1_000 } as ServerConfig
          const fiber = yield* Effect.forkChild(
            Effect.scoped(Effect.andThen(Reminders.reminding(config), Effect.never))
          )
          yield* TestClock.adjust(Duration.seconds(4))
          expect(yield* reminders(user)).toHaveLength(0)
          yield* TestClock.adjust(Duration.seconds(1))
          // The fiber's round runs on the database's real clock: wait for its event, not for a time.
          let events = yield* reminders(user)
          while (events.length === 0) {
            yield* Effect.yieldNow
            yield* TestClock.adjust(Duration.seconds(1))
            events = yield* reminders(user)
          }
          expect(events.map((event) => event.task_id)).toEqual([task.id])
          yield* TestClock.adjust(Duration.minutes(5))
          expect(yield* reminders(user)).toHaveLength(1)
          yield* Fiber.interrupt(fiber)
        })
      )
    })
  })
}
