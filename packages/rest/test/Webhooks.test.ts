/**
 * The webhook routes over the real REST app and database: registering (the secret shown in
 * that answer only), listing, reading, changing, rotating and deleting endpoints, refusals
 * naming the field, other users' endpoints reading as missing, and a task change reaching a
 * local receiver as a signed delivery the user can then read.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  DEFAULT_RETRY_POLICY,
  type DispatchOptions,
  dispatchOnce,
  fanOut,
  WebhookService
} from "@taskport/core"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { startReceiver } from "@taskport/test-support/WebhookReceiver"
import { AddressGuard, HttpWebhookSender } from "@taskport/webhooks"
import { Duration, Effect, Layer } from "effect"
import { Webhook } from "standardwebhooks"

const receiver = Effect.acquireRelease(
  Effect.promise(() => startReceiver()),
  (r) => Effect.promise(() => r.close())
)

const dispatch: DispatchOptions = {
  policy: DEFAULT_RETRY_POLICY,
  batch: 10,
  lease: Duration.seconds(30),
  concurrency: 2
}

for (const database of testDatabases()) {
  describe(`webhook routes on ${database.name}`, () => {
    const withWebhooks = (allowPrivate: boolean) =>
      Layer.mergeAll(
        Layer.fresh(WebhookService.layer).pipe(Layer.provide(AddressGuard.layer({ allowPrivate }))),
        HttpWebhookSender.layer({ allowPrivate })
      ).pipe(Layer.provideMerge(servicesLayer(database.layer())))

    layer(withWebhooks(true), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect(
        "H7: create shows the secret once; list, read, patch, rotate and delete work for the owner only",
        () =>
          Effect.gen(function* () {
            const app = yield* makeApp()
            const token = yield* tokenFor(`hooks-${crypto.randomUUID()}`)
            const created = yield* send(app, "POST", "/api/v1/webhooks", {
              token,
              body: { url: "http://127.0.0.1:9/hook", event_types: ["task.created"], description: "ci" }
            })
            expect(created.status).toBe(201)
            const hook = created.body as Record<string, unknown>
            expect(hook).toMatchObject({
              url: "http://127.0.0.1:9/hook",
              event_types: ["task.created"],
              description: "ci",
              enabled: true,
              disabled_reason: null
            })
            expect(hook.secret).toMatch(/^whsec_/)
            expect(created.headers.get("location")).toBe(`/api/v1/webhooks/${String(hook.id)}`)

            // The secret never appears again.
            const read = yield* send(app, "GET", `/api/v1/webhooks/${String(hook.id)}`, { token })
            expect(read.status).toBe(200)
            expect(read.text).not.toContain("secret")
            const listed = yield* send(app, "GET", "/api/v1/webhooks", { token })
            expect((listed.body as { items: Array<{ id: string }> }).items.map((item) => item.id)).toEqual([
              hook.id
            ])
            expect(listed.text).not.toContain(String(hook.secret))

            const patched = yield* send(app, "PATCH", `/api/v1/webhooks/${String(hook.id)}`, {
              token,
              body: { event_types: null, enabled: false }
            })
            expect(patched.status).toBe(200)
            expect(patched.body).toMatchObject({ event_types: null, enabled: false })
            expect(patched.text).not.toContain("secret")

            const rotated = yield* send(app, "POST", `/api/v1/webhooks/${String(hook.id)}/rotate-secret`, {
              token
            })
            expect(rotated.status).toBe(200)
            const secret = (rotated.body as { secret: string }).secret
            expect(secret).toMatch(/^whsec_/)
            expect(secret).not.toBe(hook.secret)

            // Another user's token finds nothing under that id.
            const stranger = yield* tokenFor(`stranger-${crypto.randomUUID()}`)
            for (const [method, path] of [
              ["GET", `/api/v1/webhooks/${String(hook.id)}`],
              ["DELETE", `/api/v1/webhooks/${String(hook.id)}`],
              ["GET", `/api/v1/webhooks/${String(hook.id)}/deliveries`],
              ["POST", `/api/v1/webhooks/${String(hook.id)}/rotate-secret`]
            ] as const) {
              const answer = yield* send(app, method, path, { token: stranger })
              expect(answer.status, `${method} ${path}`).toBe(404)
            }

            const deleted = yield* send(app, "DELETE", `/api/v1/webhooks/${String(hook.id)}`, { token })
            expect(deleted.status).toBe(204)
            expect((yield* send(app, "GET", `/api/v1/webhooks/${String(hook.id)}`, { token })).status).toBe(
              404
            )
          })
      )

      it.effect("H7: bad input is a 400 naming the field; nothing is stored", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const token = yield* tokenFor(`hooks-${crypto.randomUUID()}`)
          for (const [body, field] of [
            [{ url: "ftp://example.com/" }, "url"],
            [{ url: "http://user:pw@example.com/" }, "url"],
            [{}, "url"],
            [{ url: "http://127.0.0.1:9/", event_types: ["task.exploded"] }, "event_types.0"],
            [{ url: "http://127.0.0.1:9/", event_types: [] }, "event_types"],
            [{ url: "http://127.0.0.1:9/", secret: "whsec_mine" }, "secret"]
          ] as const) {
            const answer = yield* send(app, "POST", "/api/v1/webhooks", { token, body })
            expect(answer.status, JSON.stringify(body)).toBe(400)
            const issues = (answer.body as { error: { details: { issues: Array<{ field: string }> } } }).error
              .details.issues
            expect(issues.map((issue) => issue.field)).toContain(field)
          }
          const listed = yield* send(app, "GET", "/api/v1/webhooks", { token })
          expect(listed.body).toEqual({ items: [] })
        })
      )

      it.effect("H8: a task change reaches the endpoint as a signed delivery the user can read", () =>
        Effect.gen(function* () {
          const hook = yield* receiver
          const app = yield* makeApp()
          const token = yield* tokenFor(`hooks-${crypto.randomUUID()}`)
          const created = yield* send(app, "POST", "/api/v1/webhooks", { token, body: { url: hook.url } })
          const { id, secret } = created.body as { id: string; secret: string }
          const task = yield* send(app, "POST", "/api/v1/tasks", { token, body: { title: "Ship it" } })
          expect(task.status).toBe(201)
          expect(yield* fanOut({ users: 100, events: 100 })).toBeGreaterThanOrEqual(1)
          yield* dispatchOnce(dispatch)
          const mine = hook.received.filter((request) => request.body.includes('"Ship it"'))
          expect(mine).toHaveLength(1)
          const payload = new Webhook(secret).verify(mine[0]!.body, mine[0]!.headers) as {
            type: string
            data: { id: string; task: { title: string } }
          }
          expect(payload.type).toBe("task.created")
          expect(payload.data.task.title).toBe("Ship it")
          expect(mine[0]!.headers["webhook-id"]).toBe(payload.data.id)
          const deliveries = yield* send(app, "GET", `/api/v1/webhooks/${id}/deliveries?status=delivered`, {
            token
          })
          expect(deliveries.status).toBe(200)
          expect((deliveries.body as { items: Array<unknown> }).items).toEqual([
            expect.objectContaining({
              event_id: payload.data.id,
              status: "delivered",
              attempts: 1,
              last_status_code: 200
            })
          ])
        })
      )
    })

    layer(withWebhooks(false), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("H2: without WEBHOOK_ALLOW_PRIVATE an internal URL is refused with a 400 naming url", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const token = yield* tokenFor(`hooks-${crypto.randomUUID()}`)
          for (const url of ["http://127.0.0.1:8080/hook", "http://localhost/", "http://169.254.169.254/"]) {
            const answer = yield* send(app, "POST", "/api/v1/webhooks", { token, body: { url } })
            expect(answer.status, url).toBe(400)
            expect(answer.body).toMatchObject({
              error: { code: "invalid_request", details: { issues: [{ field: "url" }] } }
            })
          }
          expect((yield* send(app, "GET", "/api/v1/webhooks", { token })).body).toEqual({ items: [] })
        })
      )
    })
  })
}
