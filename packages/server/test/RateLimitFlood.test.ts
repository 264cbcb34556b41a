/**
 * Rate limits as a deployment has them: two `taskport serve` processes on the real Postgres,
 * sharing their counters through the real Redis (behind a proxy the suite can cut). Floods of
 * a few requests each, on loopback, against limits set low: one user's requests, chat turns
 * and failed authentications are counted once across both processes and refused with the
 * limit's headers; with Redis gone each process counts on its own, and once Redis is back
 * they share again, without a restart.
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
import { killAll, type Started, start } from "@taskport/test-support/ServerProcess"
import { startProxyFor, type TcpProxy } from "@taskport/test-support/TcpProxy"
import { redisUrl } from "@taskport/test-support/TestRedis"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const SECRET = "flood-suite-secret-0123456789-abcdefghijklmnop"
const postgresUrl = realPostgresUrl()
const redis = redisUrl()

const tokenFor = (user: string): Promise<string> =>
  TokenMinter.mintToken({ secret: Redacted.make(SECRET), subject: user, ttlSeconds: 3600 })

const until = async (check: () => boolean, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.skipIf(postgresUrl === undefined || redis === undefined)(
  "rate limits across two server processes sharing Redis",
  () => {
    let database: ScratchDatabase | undefined
    let proxy: TcpProxy | undefined
    const servers: Array<Started> = []
    const server = (index: number) => servers[index % servers.length]!

    beforeAll(async () => {
      database = await createScratchDatabase(postgresUrl!, "flood")
      const proxied = await startProxyFor(redis!)
      proxy = proxied.proxy
      // A prefix of this run's own, so that counters left in Redis by an earlier run do not count.
      const prefix = `taskport-flood-${crypto.randomUUID()}`
      for (const label of ["first", "second"]) {
        const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), `taskport-flood-${label}-`))
        servers.push(
          await start(Path.join(cwd, "data"), cwd, {
            DATABASE_URL: database.url,
            BETTER_AUTH_SECRET: SECRET,
            DATABASE_POOL_SIZE: "2",
            REDIS_URL: proxied.url,
            REDIS_KEY_PREFIX: prefix,
            RATE_LIMIT_PER_MINUTE: "6",
            CHAT_RATE_LIMIT_PER_MINUTE: "2",
            AUTH_FAILURE_RATE_LIMIT_PER_MINUTE: "3",
            LOG_LEVEL: "info"
          })
        )
      }
    }, 120_000)

    afterAll(async () => {
      killAll()
      await proxy?.close()
      await database?.drop()
    })

    /** `count` requests, alternating between the two processes, and their replies. */
    const flood = async (count: number, token: string, init: RequestInit & { path?: string } = {}) => {
      const replies: Array<Response> = []
      for (let i = 0; i < count; i++) {
        const reply = await fetch(`${server(i).base}${init.path ?? "/api/v1/tasks"}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }
        })
        await reply.text()
        replies.push(reply)
      }
      return replies
    }

    it("G31: one user's requests are counted once across both processes, then refused with the limit's headers", async () => {
      const replies = await flood(8, await tokenFor(`flood-${crypto.randomUUID()}`))
      expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200, 200, 429, 429])
      const first = replies[0]!
      expect(first.headers.get("ratelimit-policy")).toBe('"request";q=6;w=60')
      expect(first.headers.get("ratelimit")).toMatch(/^"request";r=5;t=\d+$/)
      // Both processes refuse, each with the shared count.
      for (const refused of replies.slice(6)) {
        expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
        expect(refused.headers.get("ratelimit")).toMatch(/^"request";r=0;t=\d+$/)
        expect(refused.headers.get("ratelimit-policy")).toBe('"request";q=6;w=60')
      }
    })

    it("G31: chat turns and failed authentications are shared the same way", async () => {
      const token = await tokenFor(`flood-${crypto.randomUUID()}`)
      const turns = await flood(3, token, {
        method: "POST",
        path: "/api/v1/chat",
        body: JSON.stringify({ message: "list my tasks" })
      })
      expect(turns.map((reply) => reply.status)).toEqual([200, 200, 429])
      expect(turns[2]!.headers.get("ratelimit-policy")).toBe('"chat";q=2;w=60')

      const forged = await flood(5, "not.a.token")
      expect(forged.map((reply) => reply.status)).toEqual([401, 401, 401, 429, 429])
      expect(Number(forged[3]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    })

    it("G31: with Redis gone each process counts on its own, and they share again once it is back", async () => {
      const output = (index: number) => server(index).output()
      proxy!.cut()
      const during = await flood(14, await tokenFor(`flood-${crypto.randomUUID()}`))
      // Six per process in its own window: twelve in all before both refuse.
      expect(during.map((reply) => reply.status)).toEqual([...Array(12).fill(200), 429, 429])
      for (const index of [0, 1]) expect(output(index)).toContain("Redis is unreachable")

      proxy!.restore()
      await until(
        () => [0, 1].every((index) => output(index).includes("Redis is reachable again")),
        "both processes to reach Redis again"
      )
      const after = await flood(8, await tokenFor(`flood-${crypto.randomUUID()}`))
      expect(after.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200, 200, 429, 429])
    }, 60_000)
  }
)
