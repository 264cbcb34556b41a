/**
 * Settings, the X-Time-Zone header and the due and completion views over REST, on every
 * test database, with the clock under `TestClock`; and unknown query parameters refused.
 */
import { describe, expect, layer } from "@effect/vitest"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect, type Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"

type Json = Record<string, unknown>
const asJson = (value: unknown) => value as Json
const fieldsOf = (body: unknown) =>
  (asJson(asJson(asJson(body).error).details).issues as ReadonlyArray<{ field: string }>)
    .map((issue) => issue.field)
    .sort()
const titlesOf = (body: unknown) =>
  (asJson(body).items as ReadonlyArray<{ title: string }>).map((task) => task.title).sort()

for (const database of testDatabases()) {
  describe(`time views over REST on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000, excludeTestServices: true })((base) => {
      // Each test gets its own TestClock; the database layer keeps the real one, which its pool needs.
      const it = {
        effect: <A, E>(
          name: string,
          self: () => Effect.Effect<A, E, Layer.Success<ReturnType<typeof servicesLayer>> | Scope.Scope>
        ) => base.effect(name, () => Effect.provide(self(), TestClock.layer()))
      }
      const setup = Effect.gen(function* () {
        const app = yield* makeApp()
        const user = `user-${crypto.randomUUID()}`
        const token = yield* tokenFor(user)
        return { app, user, token }
      })

      it.effect("T7: GET, PUT and PATCH /settings read and change the user's own settings", () =>
        Effect.gen(function* () {
          const { app, user, token } = yield* setup
          const initial = yield* send(app, "GET", "/api/v1/settings", { token })
          expect(initial.status).toBe(200)
          expect(initial.body).toEqual({ time_zone: null, week_start: "monday", effective_time_zone: "UTC" })
          const put = yield* send(app, "PUT", "/api/v1/settings", {
            token,
            body: { time_zone: "america/los_angeles", week_start: "sunday" }
          })
          expect(put.status, put.text).toBe(200)
          expect(put.body).toEqual({
            time_zone: "America/Los_Angeles",
            week_start: "sunday",
            effective_time_zone: "America/Los_Angeles"
          })
          const patch = yield* send(app, "PATCH", `/api/${user}/settings`, {
            token,
            body: { week_start: "monday" }
          })
          expect(patch.body).toMatchObject({ time_zone: "America/Los_Angeles", week_start: "monday" })
          const other = yield* tokenFor(`user-${crypto.randomUUID()}`)
          expect((yield* send(app, "GET", "/api/v1/settings", { token: other })).body).toMatchObject({
            time_zone: null
          })
          expect((yield* send(app, "GET", `/api/${user}/settings`, { token: other })).status).toBe(403)
          const bad = yield* send(app, "PATCH", "/api/v1/settings", {
            token,
            body: { time_zone: "Europe/Atlantis", timezone: "UTC" }
          })
          expect(bad.status).toBe(400)
          expect(fieldsOf(bad.body)).toEqual(["time_zone", "timezone"])
          expect((yield* send(app, "GET", "/api/v1/settings")).status).toBe(401)
        })
      )

      it.effect(
        "T2: X-Time-Zone applies until a zone is stored; an invalid one is a 400 naming the header",
        () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            const headers = { "x-time-zone": "Asia/Kolkata" }
            expect((yield* send(app, "GET", "/api/v1/settings", { token, headers })).body).toMatchObject({
              time_zone: null,
              effective_time_zone: "Asia/Kolkata"
            })
            yield* send(app, "PUT", "/api/v1/settings", { token, body: { time_zone: "Pacific/Auckland" } })
            expect((yield* send(app, "GET", "/api/v1/settings", { token, headers })).body).toMatchObject({
              effective_time_zone: "Pacific/Auckland"
            })
            const bad = yield* send(app, "GET", "/api/v1/tasks", {
              token,
              headers: { "x-time-zone": "Nowhere/Land" }
            })
            expect(bad.status).toBe(400)
            expect(fieldsOf(bad.body)).toEqual(["x-time-zone"])
          })
      )

      it.effect("T8: unknown or misspelt query parameters are refused with a 400 naming each", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "one" } })
          const misspelt = yield* send(app, "GET", "/api/v1/tasks?due_view=today&colour=red&status=pending", {
            token
          })
          expect(misspelt.status).toBe(400)
          expect(fieldsOf(misspelt.body)).toEqual(["colour", "due_view"])
          const badValue = yield* send(app, "GET", "/api/v1/tasks?due=tomorow", { token })
          expect(badValue.status).toBe(400)
          expect(fieldsOf(badValue.body)).toEqual(["due"])
          expect((yield* send(app, "GET", "/api/v1/tasks?due=none", { token })).status).toBe(200)
        })
      )

      it.effect(
        "T4: due=today, overdue, upcoming and none over REST follow the user's zone and the clock",
        () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            // 22:00 on Dec 1 in Los Angeles, already Dec 2 in UTC.
            yield* TestClock.setTime(Date.parse("2026-12-02T06:00:00Z"))
            for (const [title, due] of [
              ["due dec 1", "2026-12-01"],
              ["due dec 2", "2026-12-02"],
              ["paris morning dec 2", "2026-12-02T09:00[Europe/Paris]"],
              ["no due", null]
            ] as const) {
              yield* send(app, "POST", "/api/v1/tasks", { token, body: { title, due } })
            }
            const view = (query: string, headers: Record<string, string> = {}) =>
              Effect.map(send(app, "GET", `/api/v1/tasks?${query}`, { token, headers }), (reply) => {
                expect(reply.status, reply.text).toBe(200)
                return titlesOf(reply.body)
              })
            expect(yield* view("due=today")).toEqual(["due dec 2", "paris morning dec 2"])
            expect(yield* view("due=overdue")).toEqual(["due dec 1"])
            const la = { "x-time-zone": "America/Los_Angeles" }
            expect(yield* view("due=today", la)).toEqual(["due dec 1"])
            expect(yield* view("due=overdue", la)).toEqual([])
            expect(yield* view("due=upcoming&due_within_days=1", la)).toEqual([
              "due dec 2",
              "paris morning dec 2"
            ])
            expect(yield* view("due=none&status=pending", la)).toEqual(["no due"])
          })
      )

      it.effect(
        "T12: recurring tasks over REST: complete schedules the next, skip moves it, bad rules are 400",
        () =>
          Effect.gen(function* () {
            const { app, token } = yield* setup
            yield* TestClock.setTime(Date.parse("2026-03-23T07:30:00Z"))
            yield* send(app, "PUT", "/api/v1/settings", { token, body: { time_zone: "Europe/Paris" } })
            const created = yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: {
                title: "standup",
                due: "2026-03-23T09:00[Europe/Paris]",
                recurrence: "rrule:freq=weekly;byday=mo"
              }
            })
            expect(created.status, created.text).toBe(201)
            const task = asJson(created.body)
            expect(task).toMatchObject({ recurrence: "FREQ=WEEKLY;BYDAY=MO", next_occurrence_id: null })
            const done = yield* send(app, "POST", `/api/v1/tasks/${task.id}/complete`, { token })
            expect(done.status).toBe(200)
            const next = yield* send(app, "GET", `/api/v1/tasks/${asJson(done.body).next_occurrence_id}`, {
              token
            })
            expect(asJson(next.body).due).toBe("2026-03-30T09:00:00.000+02:00[Europe/Paris]")
            const skipped = yield* send(app, "POST", `/api/v1/tasks/${asJson(next.body).id}/complete`, {
              token,
              body: { skip: true }
            })
            expect(asJson(skipped.body)).toMatchObject({
              completed: false,
              due: "2026-04-06T09:00:00.000+02:00[Europe/Paris]"
            })
            const history = yield* send(
              app,
              "GET",
              "/api/v1/tasks?status=completed&completed_after=2026-03-23",
              { token }
            )
            expect(titlesOf(history.body)).toEqual(["standup"])
            const bad = yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title: "x", due: "2026-03-23", recurrence: "FREQ=MONTHLY;BYDAY=FR" }
            })
            expect(bad.status).toBe(400)
            expect(fieldsOf(bad.body)).toEqual(["recurrence"])
          })
      )

      it.effect("T15: chat over REST reads dates in the zone X-Time-Zone names", () =>
        Effect.gen(function* () {
          const { app, token } = yield* setup
          yield* TestClock.setTime(Date.parse("2026-12-02T06:00:00Z"))
          const chat = (message: string) =>
            send(app, "POST", "/api/v1/chat", {
              token,
              body: { message },
              headers: { "x-time-zone": "America/Los_Angeles" }
            })
          const added = yield* chat("remind me to call mom tomorrow at 5pm")
          expect(added.status, added.text).toBe(200)
          const call = (asJson(added.body).tool_calls as Array<{ result: { due: string } }>)[0]!
          expect(call.result.due).toBe("2026-12-02T17:00:00.000-08:00[America/Los_Angeles]")
          const due = yield* chat("what's due tomorrow?")
          expect(asJson(due.body).agent_response).toContain("Call mom (due tomorrow at 17:00)")
        })
      )
    })
  })
}
