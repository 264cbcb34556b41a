/**
 * Webhook delivery across server processes on one Postgres: two `taskport serve` processes
 * deliver the same user's events to one slow local endpoint, and one of them is SIGKILLed
 * while it has attempts in flight. Every event is delivered; no two attempts of a delivery
 * are ever open at once (each claim is held by one process); the killed process's claims
 * are taken over once their lease runs out; an event arrives twice only when an earlier
 * attempt of it was cut off (the documented at-least-once case).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { TokenMinter } from "@taskport/auth"
import {
  createScratchDatabase,
  realPostgresUrl,
  type ScratchDatabase
} from "@taskport/test-support/ScratchDatabase"
import { exited, killAll, type Started, start } from "@taskport/test-support/ServerProcess"
import { startReceiver, type WebhookReceiver } from "@taskport/test-support/WebhookReceiver"
import { Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"

const SECRET = "webhook-scale-out-suite-secret-0123456789-abc"
const scratch: Array<ScratchDatabase> = []
const receivers: Array<WebhookReceiver> = []
afterAll(async () => {
  killAll()
  for (const receiver of receivers) await receiver.close()
  for (const database of scratch) await database.drop().catch(() => undefined)
})

interface Delivery {
  readonly event_id: string
  readonly event_type: string
  readonly status: string
  readonly attempts: number
}

/** Waits for a condition the processes bring about; gives up (failing the test) after a generous bound. */
const until = async (what: string, condition: () => boolean | Promise<boolean>) => {
  const deadline = Date.now() + 90_000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const postgresUrl = realPostgresUrl()

// Needs a real Postgres shared by two processes; under CI=true its absence is an error.
if (postgresUrl !== undefined) {
  describe("webhook delivery across processes", () => {
    it("H9: with one of two processes killed mid-way, every event is delivered, each attempt by one process", async () => {
      const database = await createScratchDatabase(postgresUrl, "webhooks")
      scratch.push(database)
      const receiver = await startReceiver()
      receivers.push(receiver)
      const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-webhooks-"))
      const settings = {
        DATABASE_URL: database.url,
        BETTER_AUTH_SECRET: SECRET,
        DATABASE_POOL_SIZE: "4",
        WEBHOOK_ALLOW_PRIVATE: "true",
        WEBHOOK_POLL_MS: "50",
        WEBHOOK_RETRY_FIRST_DELAY_MS: "50",
        // A claim's lease is the attempt's timeout and a second: here six seconds.
        WEBHOOK_TIMEOUT_MS: "5000",
        WEBHOOK_LEASE_MS: "500"
      }
      const [a, b] = (await Promise.all(
        [0, 1].map((n) => start(Path.join(cwd, `data-${n}`), cwd, settings))
      )) as [Started, Started]
      const token = await TokenMinter.mintToken({
        secret: Redacted.make(SECRET),
        subject: "webhook-user",
        ttlSeconds: 3600
      })
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const post = async (server: Started, path: string, body: unknown) => {
        const response = await fetch(`${server.base}/api/v1${path}`, {
          method: "POST",
          headers,
          body: JSON.stringify(body)
        })
        expect(response.status, await response.clone().text()).toBeLessThan(300)
        return (await response.json()) as { id: string }
      }
      const deliveries = async (): Promise<ReadonlyArray<Delivery>> => {
        const response = await fetch(`${b.base}/api/v1/webhooks/${endpoint.id}/deliveries?limit=100`, {
          headers
        })
        expect(response.status).toBe(200)
        return ((await response.json()) as { items: ReadonlyArray<Delivery> }).items
      }

      const endpoint = await post(a, "/webhooks", { url: receiver.url })
      // The endpoint is slow: attempts stay open until released.
      receiver.hold()
      const writes = (server: Started, from: number, count: number) =>
        Promise.all(
          Array.from({ length: count }, (_, i) => post(server, "/tasks", { title: `task ${from + i}` }))
        )
      await Promise.all([writes(a, 0, 30), writes(b, 30, 30)])

      // Each process has at most eight attempts open at once: nine open means both have some.
      await until("both processes have attempts in flight", () => receiver.open() >= 9)
      a.child.kill("SIGKILL")
      await exited(a.child)
      // The killed process's connections close with it.
      await until("the killed process's attempts are cut off", () => receiver.dropped().length > 0)
      const cutOff = new Set(receiver.dropped().map((request) => request.headers["webhook-id"]))
      receiver.release()
      await writes(b, 60, 20)

      await until("every event is delivered", async () => {
        const items = await deliveries()
        return items.length === 80 && items.every((item) => item.status === "delivered")
      })
      const items = await deliveries()
      const counts = receiver.counts()
      // No delivery ever had two attempts open at once.
      expect(receiver.overlapping()).toEqual([])
      expect(new Set(items.map((item) => item.event_id)).size).toBe(80)
      for (const item of items) {
        const received = counts.get(item.event_id) ?? 0
        expect(received, item.event_id).toBeGreaterThanOrEqual(1)
        // Every attempt that reached the endpoint was counted by the claim that made it.
        expect(received, item.event_id).toBeLessThanOrEqual(item.attempts)
      }
      // An event arrived again only after an earlier attempt of it was cut off.
      const dropped = new Set(receiver.dropped().map((request) => request.headers["webhook-id"]))
      const repeated = [...counts].filter(([, n]) => n > 1).map(([id]) => id)
      for (const id of repeated) expect(dropped.has(id), id).toBe(true)
      console.info(
        `80 events: ${cutOff.size} attempts cut off by the kill, ${repeated.length} events received twice, ${items.filter((item) => item.attempts > 1).length} deliveries attempted more than once`
      )
      // The killed process's claims were taken over and delivered.
      expect(cutOff.size).toBeGreaterThan(0)
      for (const id of cutOff) {
        const item = items.find((candidate) => candidate.event_id === id)
        expect(item?.status, id).toBe("delivered")
        expect(item?.attempts, id).toBeGreaterThanOrEqual(2)
      }
    }, 180_000)
  })
}
