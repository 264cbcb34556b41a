/**
 * Deliveries end to end over a real database (PGlite, and Postgres when configured) and a
 * local HTTP receiver: retries on the backoff schedule driven by the test clock, the
 * delivery records a user reads, giving up, disabling an endpoint that keeps failing, leases
 * taken over after they run out, and the address guard applied again at delivery time.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  CurrentUser,
  DEFAULT_RETRY_POLICY,
  DeliveryQueue,
  type DispatchOptions,
  dispatchOnce,
  enqueue,
  renderPayload,
  UserId,
  WebhookService
} from "@taskport/core"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { startReceiver, type WebhookReceiver } from "@taskport/test-support/WebhookReceiver"
import { AddressGuard, HttpWebhookSender } from "@taskport/webhooks"
import { Clock, Duration, Effect, Layer, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { Webhook } from "standardwebhooks"

const options = (overrides: Partial<DispatchOptions["policy"]> = {}): DispatchOptions => ({
  policy: { ...DEFAULT_RETRY_POLICY, ...overrides },
  batch: 10,
  lease: Duration.seconds(30),
  concurrency: 4
})

const receiver = Effect.acquireRelease(
  Effect.promise(() => startReceiver()),
  (r) => Effect.promise(() => r.close())
)

/** The test clock starts at the real time, so receivers can check signature timestamps. */
const startClockNow = TestClock.setTime(Date.now())

const event = (owner: UserId, n: number, type = "task.created") => ({
  owner,
  eventId: `evt_${crypto.randomUUID()}_${n}`,
  eventType: type,
  body: renderPayload({ type, timestamp: new Date(0).toISOString(), data: { id: n } })
})

/**
 * The queue is shared by every user, as in production: deliveries an earlier test left due
 * are set aside, so each test claims only its own.
 */
const quiesce = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`UPDATE webhook_deliveries SET status = 'given_up' WHERE status IN ('pending', 'failed')`
)

const asUser = (user: UserId) => Effect.provideService(CurrentUser, { id: user })

for (const database of testDatabases()) {
  describe(`webhook deliveries on ${database.name}`, () => {
    const services = Layer.mergeAll(
      WebhookService.layer.pipe(Layer.provide(AddressGuard.layer({ allowPrivate: true }))),
      HttpWebhookSender.layer({ allowPrivate: true, timeout: Duration.seconds(5) })
    ).pipe(Layer.provideMerge(database.layer()))

    layer(services, { timeout: 120_000, excludeTestServices: true })((base) => {
      // Each test gets its own TestClock; the database layer keeps the real one, which its pool needs.
      const it = {
        effect: <A, E>(
          name: string,
          self: () => Effect.Effect<A, E, Layer.Success<typeof services> | Scope.Scope>
        ) => base.effect(name, () => Effect.provide(Effect.andThen(quiesce, self()), TestClock.layer()))
      }
      const register = (user: UserId, hook: WebhookReceiver, eventTypes: Array<string> | null = null) =>
        Effect.flatMap(WebhookService, (webhooks) =>
          webhooks.create({ url: hook.url, event_types: eventTypes as never })
        ).pipe(asUser(user))

      it.effect("H3: a failing endpoint is retried on the backoff schedule until it answers 2xx", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          const created = yield* register(user, hook)
          hook.respondWith(500)
          const sent = event(user, 1)
          expect(yield* enqueue([sent])).toBe(1)
          const run = dispatchOnce(options())

          expect(yield* run).toBe(1)
          expect(hook.received).toHaveLength(1)
          // Not due yet: the next attempt waits for the backoff.
          expect(yield* run).toBe(0)
          yield* TestClock.adjust(Duration.seconds(2))
          expect(yield* run).toBe(0)
          // The first wait is 5 s scaled by a jitter factor in [0.5, 1).
          yield* TestClock.adjust(Duration.seconds(3))
          expect(yield* run).toBe(1)
          expect(hook.received).toHaveLength(2)
          hook.respondWith(204)
          yield* TestClock.adjust(Duration.seconds(10))
          expect(yield* run).toBe(1)
          expect(hook.received).toHaveLength(3)
          yield* TestClock.adjust(Duration.hours(1))
          expect(yield* run).toBe(0)

          // Every attempt carried the same id and a valid signature of the same body.
          const verifier = new Webhook(created.secret)
          for (const request of hook.received) {
            expect(request.headers["webhook-id"]).toBe(sent.eventId)
            expect(request.body).toBe(sent.body)
            expect(verifier.verify(request.body, request.headers)).toEqual(JSON.parse(sent.body))
          }

          const webhooks = yield* WebhookService
          const { items } = yield* webhooks.deliveries({ id: created.id }).pipe(asUser(user))
          expect(items).toHaveLength(1)
          expect(items[0]).toMatchObject({
            event_id: sent.eventId,
            event_type: "task.created",
            status: "delivered",
            attempts: 3,
            next_attempt_at: null,
            last_status_code: 204,
            last_error: null
          })
          expect(items[0]!.delivered_at).not.toBeNull()
        })
      )

      it.effect("H3: a failed attempt is recorded with its status, and the next one is scheduled", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          const created = yield* register(user, hook)
          hook.respondWith(503)
          yield* enqueue([event(user, 1)])
          yield* dispatchOnce(options())
          const webhooks = yield* WebhookService
          const { items } = yield* webhooks.deliveries({ id: created.id }).pipe(asUser(user))
          expect(items[0]).toMatchObject({
            status: "failed",
            attempts: 1,
            last_status_code: 503,
            last_error: "HTTP 503"
          })
          expect(items[0]!.next_attempt_at).not.toBeNull()
          // Another user reads no such endpoint.
          const other = yield* Effect.flip(
            webhooks.deliveries({ id: created.id }).pipe(asUser(UserId.make("someone-else")))
          )
          expect(other._tag).toBe("WebhookNotFound")
        })
      )

      it.effect(
        "H4: past the retry window a delivery is given up; give-ups in a row disable the endpoint",
        () =>
          Effect.gen(function* () {
            yield* startClockNow
            const hook = yield* receiver
            const user = UserId.make(`hooks-${crypto.randomUUID()}`)
            const created = yield* register(user, hook)
            hook.respondWith(500)
            const policy = options({
              retryFor: Duration.minutes(1),
              health: { failingForMillis: Duration.toMillis(Duration.hours(24)), giveUpsInARow: 2 }
            })
            yield* enqueue([event(user, 1), event(user, 2)])
            for (let round = 0; round < 12; round++) {
              yield* dispatchOnce(policy)
              yield* TestClock.adjust(Duration.seconds(20))
            }
            const webhooks = yield* WebhookService
            const { items } = yield* webhooks.deliveries({ id: created.id }).pipe(asUser(user))
            expect(items.map((item) => item.status)).toEqual(["given_up", "given_up"])
            for (const item of items) expect(item.next_attempt_at).toBeNull()
            const endpoint = yield* webhooks.read({ id: created.id }).pipe(asUser(user))
            expect(endpoint.enabled).toBe(false)
            expect(endpoint.disabled_reason).toBe("2 deliveries in a row were given up")
            // A disabled endpoint is sent nothing new.
            const before = hook.received.length
            expect(yield* enqueue([event(user, 3)])).toBe(0)
            yield* TestClock.adjust(Duration.hours(1))
            expect(yield* dispatchOnce(policy)).toBe(0)
            expect(hook.received).toHaveLength(before)
            // Enabling it again clears the reason and deliveries resume.
            hook.respondWith(200)
            const enabled = yield* webhooks.update({ id: created.id, enabled: true }).pipe(asUser(user))
            expect(enabled).toMatchObject({ enabled: true, disabled_reason: null })
            expect(yield* enqueue([event(user, 4)])).toBe(1)
            expect(yield* dispatchOnce(policy)).toBe(1)
            expect(hook.received).toHaveLength(before + 1)
          })
      )

      it.effect("H4: an endpoint failing for longer than allowed is disabled, and says why", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          const created = yield* register(user, hook)
          hook.respondWith(502)
          const policy = options({
            health: { failingForMillis: Duration.toMillis(Duration.hours(2)), giveUpsInARow: 100 }
          })
          yield* enqueue([event(user, 1)])
          for (let round = 0; round < 20; round++) {
            yield* dispatchOnce(policy)
            yield* TestClock.adjust(Duration.minutes(30))
          }
          const webhooks = yield* WebhookService
          const endpoint = yield* webhooks.read({ id: created.id }).pipe(asUser(user))
          expect(endpoint.enabled).toBe(false)
          expect(endpoint.disabled_reason).toMatch(/^every delivery failed for \d+ hours$/)
          const { items } = yield* webhooks.deliveries({ id: created.id }).pipe(asUser(user))
          expect(items[0]!.status).toBe("given_up")
        })
      )

      it.effect("H4: 410 Gone gives the delivery up and disables the endpoint at once", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          const created = yield* register(user, hook)
          hook.respondWith(410)
          yield* enqueue([event(user, 1), event(user, 2)])
          yield* dispatchOnce({ ...options(), batch: 1 })
          const webhooks = yield* WebhookService
          const endpoint = yield* webhooks.read({ id: created.id }).pipe(asUser(user))
          expect(endpoint).toMatchObject({
            enabled: false,
            disabled_reason: "the endpoint answered 410 Gone"
          })
          const { items } = yield* webhooks.deliveries({ id: created.id }).pipe(asUser(user))
          expect(items.map((item) => item.status)).toEqual(["given_up", "given_up"])
          expect(hook.received).toHaveLength(1)
        })
      )

      it.effect("H5: only the event types an endpoint asked for are queued for it", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          yield* register(user, hook, ["task.completed"])
          expect(yield* enqueue([event(user, 1, "task.created")])).toBe(0)
          const completed = event(user, 2, "task.completed")
          expect(yield* enqueue([completed])).toBe(1)
          // The same event queued twice is delivered once.
          expect(yield* enqueue([completed])).toBe(0)
          expect(yield* enqueue([event(UserId.make("nobody-with-hooks"), 3)])).toBe(0)
        })
      )

      it.effect("H6: a claim holds for its lease; once it runs out another process takes over", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          yield* register(user, hook)
          yield* enqueue([event(user, 1)])
          const queue = yield* DeliveryQueue
          const claim = (token: string) =>
            Effect.flatMap(Clock.currentTimeMillis, (nowMillis) =>
              queue.claim({ nowMillis, limit: 10, leaseMillis: 30_000, token })
            )
          const first = yield* claim(crypto.randomUUID())
          expect(first).toHaveLength(1)
          expect(first[0]!.attempt).toBe(1)
          // Held: a second claimant gets nothing, however often it asks.
          expect(yield* claim(crypto.randomUUID())).toHaveLength(0)
          yield* TestClock.adjust(Duration.seconds(29))
          expect(yield* claim(crypto.randomUUID())).toHaveLength(0)
          yield* TestClock.adjust(Duration.seconds(2))
          const takenOver = crypto.randomUUID()
          const second = yield* claim(takenOver)
          expect(second.map((d) => [d.id, d.attempt])).toEqual([[first[0]!.id, 2]])
          const now = yield* Clock.currentTimeMillis
          const result = { _tag: "Delivered", atMillis: now, statusCode: 200, responseMs: 1 } as const
          const health = DEFAULT_RETRY_POLICY.health
          // The first claimant's late result is refused; the holder's is kept.
          expect(yield* queue.record(first[0]!.id, crypto.randomUUID(), result, health)).toBe(false)
          expect(yield* queue.record(second[0]!.id, takenOver, result, health)).toBe(true)
        })
      )

      it.effect("H2: an endpoint that became internal is refused at delivery time; nothing is sent", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          const created = yield* register(user, hook)
          yield* enqueue([event(user, 1)])
          // This dispatcher's sender allows only public addresses, as a production one does.
          yield* dispatchOnce(options()).pipe(
            Effect.provide(HttpWebhookSender.layer({ allowPrivate: false }))
          )
          expect(hook.received).toHaveLength(0)
          const webhooks = yield* WebhookService
          const { items } = yield* webhooks.deliveries({ id: created.id }).pipe(asUser(user))
          expect(items[0]).toMatchObject({
            status: "failed",
            last_status_code: null,
            last_error: "refused: must point to a public address; 127.0.0.1 is internal"
          })
        })
      )

      it.effect("H2: the sender connects to the address it checked, not to a second lookup", () =>
        Effect.gen(function* () {
          yield* startClockNow
          const hook = yield* receiver
          const user = UserId.make(`hooks-${crypto.randomUUID()}`)
          const named = `http://hooks.example.test:${hook.port}/hook`
          const lookups: Array<string> = []
          const resolve = async (host: string) => {
            lookups.push(host)
            return [{ address: "127.0.0.1", family: 4 as const }]
          }
          yield* Effect.flatMap(WebhookService, (webhooks) => webhooks.create({ url: named })).pipe(
            asUser(user),
            Effect.provide(
              Layer.fresh(WebhookService.layer).pipe(
                Layer.provide(AddressGuard.layer({ allowPrivate: true, resolve }))
              )
            )
          )
          yield* enqueue([event(user, 1)])
          yield* dispatchOnce(options()).pipe(
            Effect.provide(HttpWebhookSender.layer({ allowPrivate: true, resolve }))
          )
          // The name exists nowhere but in this resolver: the request reached the checked address.
          expect(lookups).toEqual(["hooks.example.test", "hooks.example.test"])
          expect(hook.received).toHaveLength(1)
          expect(hook.received[0]!.headers.host).toBe(`hooks.example.test:${hook.port}`)
        })
      )
    })
  })
}
