/**
 * The event routes on every test database: REST changes recorded with the caller's user
 * agent; the history routes (paging, filters, a task's history after its purge, another
 * user's events never shown); chat changes recorded with their conversation and tool call,
 * and the offline agent answering a history question; the live stream (delivery, resuming
 * with Last-Event-ID or last_event_id with nothing missed or repeated, isolation, heartbeats,
 * a slow reader served from the outbox without reading ahead of its buffer).
 */
import { describe, expect, layer } from "@effect/vitest"
import { EventLog } from "@taskport/core"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { type SseFrame, sseReader } from "@taskport/test-support/SseReader"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer } from "effect"
import type { H3 } from "h3"

type Json = Record<string, unknown>
interface Event {
  readonly id: string
  readonly position: number
  readonly type: string
  readonly task_id: number
  readonly task_version: number
  readonly actor: Json
  readonly task: Json | null
  readonly changes: Record<string, { before: unknown; after: unknown }>
}
interface Page {
  readonly items: ReadonlyArray<Event>
  readonly next_cursor: string | null
}

const user = () => {
  const id = newUser()
  return Effect.map(tokenFor(id), (token) => ({ id, token }))
}

const createTask = (app: H3, token: string, title: string, headers: Record<string, string> = {}) =>
  Effect.map(send(app, "POST", "/api/v1/tasks", { token, body: { title }, headers }), (reply) => {
    expect(reply.status, reply.text).toBe(201)
    return reply.body as { id: number; version: number }
  })

const page = (app: H3, token: string, path: string) =>
  Effect.map(send(app, "GET", path, { token }), (reply) => {
    expect(reply.status, reply.text).toBe(200)
    return reply.body as Page
  })

/** Opens the event stream and waits until it is subscribed (its `ready` comment). */
const openStream = (app: H3, token: string, options: { query?: string; lastEventId?: string } = {}) =>
  Effect.promise(async () => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId
    const response = await app.request(`/api/v1/events/stream${options.query ?? ""}`, { headers })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/)
    const reader = sseReader(response.body as ReadableStream<Uint8Array>)
    const first = await reader.next()
    expect(first?.comments.some((comment) => comment.startsWith("ready"))).toBe(true)
    return reader
  })

const eventOf = (frame: SseFrame | undefined): Event => {
  expect(frame?.data).toBeDefined()
  const event = JSON.parse(frame?.data ?? "{}") as Event
  expect(frame?.id).toBe(String(event.position))
  expect(frame?.event).toBe(event.type)
  return event
}

/** How many events each user's streams fetched from the outbox (the real log, counted). */
const fetched = new Map<string, number>()
const counted = Layer.effect(
  EventLog,
  Effect.map(Effect.service(EventLog), (log) =>
    EventLog.of({
      ...log,
      list: (owner, query) =>
        Effect.tap(log.list(owner, query), (slice) =>
          Effect.sync(() => {
            if (query.order === "asc") fetched.set(owner, (fetched.get(owner) ?? 0) + slice.items.length)
          })
        )
    })
  )
)

for (const database of testDatabases()) {
  describe(`event routes on ${database.name}`, () => {
    layer(servicesLayer(counted.pipe(Layer.provideMerge(database.layer()))), {
      timeout: 120_000,
      excludeTestServices: true
    })((it) => {
      it.effect("V8: a REST change is recorded with the caller's user agent", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const { token } = yield* user()
          yield* createTask(app, token, "Via REST", { "user-agent": "taskport-test/1.0 (events)" })
          const { items } = yield* page(app, token, "/api/v1/events")
          expect(items.map((event) => [event.type, event.actor])).toEqual([
            [
              "task.created",
              {
                surface: "rest",
                client: "taskport-test/1.0 (events)",
                conversation_id: null,
                tool_call_id: null
              }
            ]
          ])
        })
      )

      it.effect("V9: the history pages newest first, filters, and shows no other user's events", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const alice = yield* user()
          const bob = yield* user()
          const a = yield* createTask(app, alice.token, "A")
          const b = yield* createTask(app, alice.token, "B")
          yield* send(app, "PATCH", `/api/v1/tasks/${a.id}`, { token: alice.token, body: { title: "A2" } })
          yield* send(app, "POST", `/api/v1/tasks/${b.id}/complete`, { token: alice.token })
          yield* createTask(app, bob.token, "Bob's")

          const first = yield* page(app, alice.token, "/api/v1/events?limit=3")
          expect(first.items.map((event) => event.position)).toEqual([4, 3, 2])
          expect(first.next_cursor).not.toBeNull()
          const second = yield* page(
            app,
            alice.token,
            `/api/v1/events?limit=3&cursor=${encodeURIComponent(first.next_cursor ?? "")}`
          )
          expect(second.items.map((event) => event.position)).toEqual([1])
          expect(second.next_cursor).toBeNull()

          const updates = yield* page(app, alice.token, "/api/v1/events?type=task.updated")
          expect(updates.items.map((event) => event.changes.title)).toEqual([{ before: "A", after: "A2" }])
          const ofA = yield* page(app, alice.token, `/api/v1/events?task_id=${a.id}`)
          expect(ofA.items.map((event) => event.type)).toEqual(["task.updated", "task.created"])
          const own = yield* page(app, alice.token, `/api/v1/tasks/${b.id}/events`)
          expect(own.items.map((event) => event.type)).toEqual(["task.completed", "task.created"])
          const viaPathUser = yield* page(
            app,
            alice.token,
            `/api/${encodeURIComponent(alice.id)}/tasks/${b.id}/events?type=task.created`
          )
          expect(viaPathUser.items.map((event) => event.type)).toEqual(["task.created"])

          // Bob sees only his own event; Alice's task is not found for him.
          const bobs = yield* page(app, bob.token, "/api/v1/events")
          expect(bobs.items.map((event) => [event.position, event.type])).toEqual([[1, "task.created"]])
          expect(
            (yield* send(app, "GET", `/api/v1/events?task_id=${a.id}`, { token: bob.token })).status
          ).toBe(404)
          expect((yield* send(app, "GET", `/api/v1/tasks/${a.id}/events`, { token: bob.token })).status).toBe(
            404
          )
          expect((yield* send(app, "GET", "/api/v1/events", {})).status).toBe(401)

          const badType = yield* send(app, "GET", "/api/v1/events?type=task.exploded", { token: alice.token })
          expect(badType.status).toBe(400)
          expect(badType.text).toMatch(/type/)
          const badCursor = yield* send(app, "GET", "/api/v1/events?cursor=nonsense", { token: alice.token })
          expect(badCursor.status).toBe(400)
          expect(badCursor.text).toMatch(/cursor/)
        })
      )

      it.effect("V9: a purged task's history stays readable; an id that never existed is 404", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const { token } = yield* user()
          const task = yield* createTask(app, token, "Short-lived")
          yield* send(app, "DELETE", `/api/v1/tasks/${task.id}`, { token })
          yield* send(app, "DELETE", `/api/v1/tasks/${task.id}?permanent=true`, { token })
          const history = yield* page(app, token, `/api/v1/tasks/${task.id}/events`)
          expect(history.items.map((event) => event.type)).toEqual([
            "task.purged",
            "task.deleted",
            "task.created"
          ])
          expect(history.items[0]?.task?.title).toBe("Short-lived")
          expect((yield* send(app, "GET", "/api/v1/tasks/2147480000/events", { token })).status).toBe(404)
        })
      )

      it.effect(
        "V10: chat changes carry the conversation and tool call; the agent answers what it changed",
        () =>
          Effect.gen(function* () {
            const app = yield* makeApp()
            const { token } = yield* user()
            yield* createTask(app, token, "Made by hand")
            const first = yield* send(app, "POST", "/api/v1/chat", {
              token,
              body: { message: "add a task to buy oat milk" },
              headers: { "user-agent": "taskport-web/2.0" }
            })
            expect(first.status, first.text).toBe(200)
            const conversation = (first.body as { conversation_id: string }).conversation_id
            const { items } = yield* page(app, token, "/api/v1/events?surface=chat")
            expect(items).toHaveLength(1)
            expect(items[0]?.actor).toEqual({
              surface: "chat",
              client: "taskport-web/2.0",
              conversation_id: conversation,
              tool_call_id: "offline_1"
            })

            const asked = yield* send(app, "POST", "/api/v1/chat", {
              token,
              body: { message: "what did you change today?", conversation_id: conversation }
            })
            expect(asked.status, asked.text).toBe(200)
            const reply = asked.body as {
              agent_response: string
              tool_calls: ReadonlyArray<{ name: string }>
            }
            expect(reply.tool_calls.map((call) => call.name)).toEqual(["todo_history"])
            expect(reply.agent_response).toMatch(/I made 1 change today/)
            expect(reply.agent_response).toMatch(/created task #\d+ "Buy oat milk"/)
            expect(reply.agent_response).not.toMatch(/Made by hand/)
          })
      )

      it.effect("V11: the stream delivers each change as it commits, and only the caller's", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const alice = yield* user()
          const bob = yield* user()
          const stream = yield* openStream(app, alice.token)
          yield* createTask(app, bob.token, "Not Alice's")
          const task = yield* createTask(app, alice.token, "Live one")
          const created = eventOf(yield* Effect.promise(() => stream.nextEvent()))
          expect([created.position, created.type, created.task_id]).toEqual([1, "task.created", task.id])
          yield* send(app, "PATCH", `/api/v1/tasks/${task.id}`, {
            token: alice.token,
            body: { title: "Live two" }
          })
          const updated = eventOf(yield* Effect.promise(() => stream.nextEvent()))
          expect([updated.position, updated.type, updated.changes.title?.after]).toEqual([
            2,
            "task.updated",
            "Live two"
          ])
          yield* Effect.promise(() => stream.cancel())
        })
      )

      it.effect("V11: a stream resumed with Last-Event-ID replays what it missed, then goes live", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const { token } = yield* user()
          const first = yield* openStream(app, token)
          const task = yield* createTask(app, token, "Resumable")
          const seen = eventOf(yield* Effect.promise(() => first.nextEvent()))
          yield* Effect.promise(() => first.cancel())
          // Changes while disconnected.
          yield* send(app, "PATCH", `/api/v1/tasks/${task.id}`, { token, body: { title: "Changed offline" } })
          yield* send(app, "POST", `/api/v1/tasks/${task.id}/complete`, { token })

          const resumed = yield* openStream(app, token, { lastEventId: String(seen.position) })
          const replayed = [
            eventOf(yield* Effect.promise(() => resumed.nextEvent())),
            eventOf(yield* Effect.promise(() => resumed.nextEvent()))
          ]
          expect(replayed.map((event) => [event.position, event.type])).toEqual([
            [2, "task.updated"],
            [3, "task.completed"]
          ])
          yield* createTask(app, token, "After the replay")
          const live = eventOf(yield* Effect.promise(() => resumed.nextEvent()))
          expect([live.position, live.type]).toEqual([4, "task.created"])
          yield* Effect.promise(() => resumed.cancel())

          // The query parameter does the same; a stream without either starts from now.
          const byQuery = yield* openStream(app, token, { query: "?last_event_id=3" })
          expect(eventOf(yield* Effect.promise(() => byQuery.nextEvent())).position).toBe(4)
          yield* Effect.promise(() => byQuery.cancel())
          const fresh = yield* openStream(app, token)
          yield* createTask(app, token, "Only this one")
          expect(eventOf(yield* Effect.promise(() => fresh.nextEvent())).position).toBe(5)
          yield* Effect.promise(() => fresh.cancel())

          const bad = yield* send(app, "GET", "/api/v1/events/stream", {
            token,
            headers: { "last-event-id": "yesterday" }
          })
          expect(bad.status).toBe(400)
          expect(bad.text).toMatch(/last-event-id/)
          expect((yield* send(app, "GET", "/api/v1/events/stream", {})).status).toBe(401)
        })
      )

      it.effect("V12: an idle stream sends heartbeat comments", () =>
        Effect.gen(function* () {
          const app = yield* makeApp({ eventStream: { heartbeat: 20 } })
          const { token } = yield* user()
          const stream = yield* openStream(app, token)
          const beat = yield* Effect.promise(() => stream.next())
          expect(beat?.comments).toEqual(["heartbeat"])
          expect(beat?.event).toBeUndefined()
          yield* Effect.promise(() => stream.cancel())
        })
      )

      it.effect(
        "V12: a slow reader makes the stream wait, reading the outbox no further ahead than its buffer",
        () =>
          Effect.gen(function* () {
            const buffer = 2
            const pageSize = 2
            const app = yield* makeApp({ eventStream: { buffer, pageSize, heartbeat: "1 hour" } })
            const { id, token } = yield* user()
            const slow = yield* openStream(app, token)
            const total = 12
            for (let i = 0; i < total; i++) yield* createTask(app, token, `Burst ${i}`)
            // Only now does the reader read: at every step the stream has fetched at most its
            // buffer and one page beyond what was delivered (and one chunk in flight).
            const delivered: Array<Event> = []
            const ahead: Array<number> = []
            while (delivered.length < total) {
              delivered.push(eventOf(yield* Effect.promise(() => slow.nextEvent())))
              ahead.push((fetched.get(id) ?? 0) - delivered.length)
            }
            yield* Effect.promise(() => slow.cancel())
            expect(delivered.map((event) => event.position)).toEqual(
              Array.from({ length: total }, (_, i) => i + 1)
            )
            expect(fetched.get(id)).toBe(total)
            expect(Math.max(...ahead)).toBeLessThanOrEqual(buffer + pageSize + 1)
          })
      )
    })
  })
}
