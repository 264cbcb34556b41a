/**
 * Rate limits, flooded on purpose (bounded, in process or on loopback): per-user requests on
 * REST and MCP, chat turns, failed authentications per address; 0 turning a limit off; the
 * counters shared by two instances through Redis; and the fallback to per-process counters
 * while Redis is cut off, with recovery once it is back.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import type { RequestLog } from "@taskport/http"
import { McpHttp } from "@taskport/mcp"
import { ENDPOINT } from "@taskport/test-support/McpHarness"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { proxyFor } from "@taskport/test-support/TcpProxy"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { redisUrl } from "@taskport/test-support/TestRedis"
import { Effect, Redacted } from "effect"
import * as RateLimiting from "../src/RateLimiting.ts"

const limits = (overrides: Partial<RateLimiting.RateLimitSettings> = {}): RateLimiting.RateLimitSettings => ({
  requestsPerMinute: 5,
  chatTurnsPerMinute: 2,
  authFailuresPerMinute: 3,
  ...overrides
})

const newUser = () => `user-${crypto.randomUUID()}`

describe("rate limits in process", () => {
  layer(servicesLayer(testDatabases()[0]!.layer()), { timeout: 120_000 })((it) => {
    it.effect(
      "G14: REST answers 429 past the per-user limit, with Retry-After and the RateLimit headers",
      () =>
        Effect.gen(function* () {
          const rateLimiter = yield* RateLimiting.make(limits())
          const app = yield* makeApp({ rateLimiter })
          const token = yield* tokenFor(newUser())
          const statuses: Array<number> = []
          let last: unknown
          for (let i = 0; i < 8; i++) {
            const reply = yield* send(app, "GET", "/api/v1/tasks", { token })
            statuses.push(reply.status)
            if (i === 0) {
              expect(reply.headers.get("ratelimit-policy")).toBe('"request";q=5;w=60')
              expect(reply.headers.get("ratelimit")).toMatch(/^"request";r=4;t=\d+$/)
            }
            if (reply.status === 429) {
              last = reply
              expect(Number(reply.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
              expect(reply.headers.get("ratelimit")).toMatch(/^"request";r=0;t=\d+$/)
              expect(reply.headers.get("ratelimit-policy")).toBe('"request";q=5;w=60')
              expect((reply.body as { error: { code: string; message: string } }).error).toMatchObject({
                code: "rate_limited"
              })
              expect(reply.text).toMatch(/retry in \d+ s/)
            }
          }
          expect(last).toBeDefined()
          expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
          // Another user has a window of their own.
          expect(
            (yield* send(app, "GET", "/api/v1/tasks", { token: yield* tokenFor(newUser()) })).status
          ).toBe(200)
        }).pipe(Effect.scoped)
    )

    it.effect("G15: chat turns have their own, tighter limit", () =>
      Effect.gen(function* () {
        const app = yield* makeApp({ rateLimiter: yield* RateLimiting.make(limits()) })
        const token = yield* tokenFor(newUser())
        const statuses: Array<number> = []
        for (let i = 0; i < 3; i++) {
          const reply = yield* send(app, "POST", "/api/v1/chat", {
            token,
            body: { message: "list my tasks" }
          })
          statuses.push(reply.status)
          if (reply.status === 429) {
            expect(reply.headers.get("ratelimit-policy")).toBe('"chat";q=2;w=60')
            expect(reply.headers.get("retry-after")).not.toBeNull()
            expect(reply.text).toContain("chat")
          }
        }
        expect(statuses).toEqual([200, 200, 429])
        // Other requests still have room under the request limit.
        expect((yield* send(app, "GET", "/api/v1/tasks", { token })).status).toBe(200)
      }).pipe(Effect.scoped)
    )

    it.effect("G16: failed authentications are limited per address; valid tokens are not counted", () =>
      Effect.gen(function* () {
        const app = yield* makeApp({
          rateLimiter: yield* RateLimiting.make(limits({ requestsPerMinute: 0 }))
        })
        const statuses: Array<number> = []
        for (let i = 0; i < 5; i++) {
          statuses.push((yield* send(app, "GET", "/api/v1/tasks", { token: "not.a.token" })).status)
        }
        expect(statuses).toEqual([401, 401, 401, 429, 429])
        const token = yield* tokenFor(newUser())
        expect((yield* send(app, "GET", "/api/v1/tasks", { token })).status).toBe(200)
      }).pipe(Effect.scoped)
    )

    it.effect("G17: 0 turns a limit off", () =>
      Effect.gen(function* () {
        const rateLimiter = yield* RateLimiting.make(
          limits({ requestsPerMinute: 0, chatTurnsPerMinute: 0, authFailuresPerMinute: 0 })
        )
        const app = yield* makeApp({ rateLimiter })
        const token = yield* tokenFor(newUser())
        for (let i = 0; i < 12; i++) {
          const reply = yield* send(app, "GET", "/api/v1/tasks", { token })
          expect(reply.status).toBe(200)
          expect(reply.headers.get("ratelimit")).toBeNull()
        }
        for (let i = 0; i < 6; i++) expect((yield* send(app, "GET", "/api/v1/tasks")).status).toBe(401)
      }).pipe(Effect.scoped)
    )

    it.effect(
      "G18: MCP tool calls past the limit are error results saying when to retry; other calls 429",
      () =>
        Effect.gen(function* () {
          const handler = yield* McpHttp.make({
            rateLimiter: yield* RateLimiting.make(limits({ requestsPerMinute: 2 }))
          })
          const token = yield* tokenFor(newUser())
          const post = (body: unknown) =>
            Effect.promise(() =>
              handler.fetch(
                new Request(ENDPOINT, {
                  method: "POST",
                  headers: {
                    authorization: `Bearer ${token}`,
                    "content-type": "application/json",
                    accept: "application/json, text/event-stream",
                    "mcp-protocol-version": "2025-06-18"
                  },
                  body: JSON.stringify(body)
                })
              )
            )
          const call = (id: number) =>
            post({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "todo_list", arguments: {} } })
          yield* call(1)
          yield* call(2)
          const refused = yield* call(3)
          const body = (yield* Effect.promise(() => refused.json())) as {
            id: number
            result: { isError: boolean; content: Array<{ text: string }> }
          }
          expect(body.id).toBe(3)
          expect(body.result.isError).toBe(true)
          expect(body.result.content[0]?.text).toMatch(/retry in \d+ s/)
          expect(refused.headers.get("retry-after")).not.toBeNull()
          const list = yield* post({ jsonrpc: "2.0", id: 4, method: "tools/list" })
          expect(list.status).toBe(429)
          expect(list.headers.get("ratelimit-policy")).toBe('"request";q=2;w=60')
        }).pipe(Effect.scoped)
    )
  })
})

const sharedRedis = redisUrl()
describe.skipIf(sharedRedis === undefined)("rate limits shared through Redis", () => {
  const url = Redacted.make(sharedRedis ?? "")

  it.live("G19: two instances share one user's counters", () =>
    Effect.gen(function* () {
      const keyPrefix = `taskport-test-${crypto.randomUUID()}`
      const first = yield* RateLimiting.make(limits({ redisUrl: url, keyPrefix }))
      const second = yield* RateLimiting.make(limits({ redisUrl: url, keyPrefix }))
      const user = newUser()
      const allowed: Array<boolean | undefined> = []
      for (const instance of [first, second, first, second, first, second, first]) {
        allowed.push((yield* instance.consume("request", user))?.allowed)
      }
      expect(allowed).toEqual([true, true, true, true, true, false, false])
    }).pipe(Effect.scoped)
  )

  it.live(
    "G20: with Redis cut off, per-process counters take over and the outage is logged; sharing resumes after",
    () =>
      Effect.gen(function* () {
        const { proxy, url } = yield* proxyFor(sharedRedis ?? "")
        const proxied = Redacted.make(url)
        const entries: Array<RequestLog.LogEntry> = []
        const keyPrefix = `taskport-test-${crypto.randomUUID()}`
        const first = yield* RateLimiting.make(limits({ redisUrl: proxied, keyPrefix }), (entry) =>
          entries.push(entry)
        )
        const secondEntries: Array<RequestLog.LogEntry> = []
        const second = yield* RateLimiting.make(limits({ redisUrl: proxied, keyPrefix }), (entry) =>
          secondEntries.push(entry)
        )
        const user = newUser()
        // Connected: both count against Redis.
        yield* Effect.promise(() =>
          waitUntil(async () => (await Effect.runPromise(first.consume("request", user)))?.allowed === true)
        )
        expect((yield* second.consume("request", user))?.allowed).toBe(true)

        proxy.cut()
        yield* Effect.promise(() => waitUntil(async () => entries.some((entry) => entry.level === "warn")))
        // Still limited, per process: five more in this process's own window, then refused.
        const during: Array<boolean | undefined> = []
        for (let i = 0; i < 6; i++) during.push((yield* first.consume("request", user))?.allowed)
        expect(during, JSON.stringify(entries)).toEqual([true, true, true, true, true, false])

        proxy.restore()
        // Both instances lost Redis; both must be back before they share counters again.
        const recovered = (log: ReadonlyArray<RequestLog.LogEntry>) =>
          log.some((entry) => entry.level === "info")
        yield* Effect.promise(() => waitUntil(async () => recovered(entries) && recovered(secondEntries)))
        // Redis kept its own count of 2: three more are shared between the instances, then refused.
        const after: Array<boolean | undefined> = []
        for (const instance of [first, second, first, second])
          after.push((yield* instance.consume("request", user))?.allowed)
        expect(after).toEqual([true, true, true, false])
        expect(entries.find((entry) => entry.level === "warn")?.msg).toContain("per-process")
      }).pipe(Effect.scoped),
    60_000
  )
})

const waitUntil = async (condition: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error("condition not reached")
}
