/**
 * The serving process's webhook worker is woken by the outbox's notifications: with a poll
 * interval of ten minutes, a change still reaches the endpoint at once, on PGlite (its own
 * notifications) and Postgres (LISTEN/NOTIFY).
 */
import { describe, expect, layer } from "@effect/vitest"
import { CurrentUser, TodoService, WebhookService } from "@taskport/core"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { startReceiver } from "@taskport/test-support/WebhookReceiver"
import { AddressGuard, HttpWebhookSender } from "@taskport/webhooks"
import { Duration, Effect, Layer } from "effect"
import type { ServerConfig } from "../src/ServerConfig.ts"
import * as Webhooks from "../src/Webhooks.ts"

const config = {
  webhookTimeoutMs: 5_000,
  webhookRetryFirstDelayMs: 5_000,
  webhookRetryMaxDelayMs: 60_000,
  webhookRetryHours: 24,
  webhookDisableAfterHours: 24,
  webhookDisableAfterGiveUps: 5,
  webhookLeaseMs: 60_000,
  // Far longer than the test may take: only a wakeup can bring the second delivery.
  webhookPollMs: 600_000
} as ServerConfig

for (const database of testDatabases()) {
  describe(`background workers on ${database.name}`, () => {
    const services = Layer.mergeAll(
      TodoService.layer,
      WebhookService.layer.pipe(Layer.provide(AddressGuard.layer({ allowPrivate: true }))),
      HttpWebhookSender.layer({ allowPrivate: true, timeout: Duration.seconds(5) })
    ).pipe(Layer.provideMerge(database.layer()))

    layer(services, { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("H10: a committed change wakes the webhook worker before its poll interval", () =>
        Effect.gen(function* () {
          const hook = yield* Effect.acquireRelease(
            Effect.promise(() => startReceiver()),
            (r) => Effect.promise(() => r.close())
          )
          const user = newUser()
          const as = Effect.provideService(CurrentUser, { id: user })
          yield* Effect.flatMap(WebhookService, (webhooks) => webhooks.create({ url: hook.url })).pipe(as)
          yield* Webhooks.dispatching(config)
          const todos = yield* TodoService
          const arrived = (count: number) =>
            Effect.gen(function* () {
              while (hook.received.length < count) yield* Effect.sleep(Duration.millis(10))
            })
          yield* todos.create({ title: "first" }).pipe(as)
          yield* arrived(1)
          // The worker has delivered the first event and waits; the next one must wake it.
          yield* todos.create({ title: "second" }).pipe(as)
          yield* arrived(2)
          const titles = hook.received.map(
            (request) => (JSON.parse(request.body) as { data: { task: { title: string } } }).data.task.title
          )
          expect(titles).toEqual(["first", "second"])
        })
      )
    })
  })
}
