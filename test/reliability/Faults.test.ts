/**
 * Faults injected into real `taskport serve` processes: the database cut off and restored
 * through a TCP proxy during load, SIGTERM during load, a client that stalls mid-body and
 * one that announces an oversized body. Each check is about what clients were told and what
 * the database holds afterwards; each suite prints what it injected.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { TokenMinter } from "@taskport/auth"
import {
  createScratchDatabase,
  realPostgresUrl,
  type ScratchDatabase
} from "@taskport/test-support/ScratchDatabase"
import { exited, killAll, start } from "@taskport/test-support/ServerProcess"
import { startProxyFor } from "@taskport/test-support/TcpProxy"
import { Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"

const SECRET = "reliability-suite-secret-0123456789-abcdefgh"
const tokenFor = (user: string) =>
  TokenMinter.mintToken({ secret: Redacted.make(SECRET), subject: user, ttlSeconds: 3600 })

const scratch: Array<ScratchDatabase> = []
afterAll(async () => {
  killAll()
  for (const database of scratch) await database.drop().catch(() => undefined)
})

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-faults-"))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Outcome {
  readonly title: string
  readonly status: number | "network"
  readonly retryAfter?: string | null
}

/** Creates tasks in a loop until told to stop, recording what each request was answered. */
const writer = (
  base: string,
  token: string,
  label: string,
  outcomes: Array<Outcome>,
  running: () => boolean
) =>
  (async () => {
    for (let i = 0; running(); i++) {
      const title = `${label}-${i}`
      try {
        const response = await fetch(`${base}/api/v1/tasks`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ title, tags: [label] }),
          // The bound a client may wait: a request must be answered well within it.
          signal: AbortSignal.timeout(20_000)
        })
        await response.arrayBuffer()
        outcomes.push({ title, status: response.status, retryAfter: response.headers.get("retry-after") })
      } catch {
        outcomes.push({ title, status: "network" })
        await sleep(50)
      }
    }
  })()

const postgresUrl = realPostgresUrl()
// These need a real server to cut off; without TEST_DATABASE_URL they are not registered
// (under CI=true its absence is an error, see realPostgresUrl).
const describePostgres = (name: string, body: () => void) => {
  if (postgresUrl !== undefined) describe(name, body)
}

describePostgres("database outage", () => {
  it("F1: requests answer 503 with Retry-After while Postgres is cut off, /ready turns unready, the same process recovers, and no acknowledged write is lost", async () => {
    const database = await createScratchDatabase(postgresUrl!, "outage")
    scratch.push(database)
    const { proxy, url: viaProxy } = await startProxyFor(database.url)
    const cwd = tempDir()
    const server = await start(Path.join(cwd, "data"), cwd, {
      DATABASE_URL: viaProxy,
      DATABASE_POOL_SIZE: "4",
      BETTER_AUTH_SECRET: SECRET
    })
    const token = await tokenFor("outage-user")
    const outcomes: Array<Outcome> = []
    let running = true
    const writers = [0, 1, 2, 3].map((n) => writer(server.base, token, `w${n}`, outcomes, () => running))

    await sleep(1_000)
    proxy.cut()
    await sleep(2_500)
    const unready = await fetch(`${server.base}/ready`, { signal: AbortSignal.timeout(20_000) })
    expect(unready.status).toBe(503)
    const duringOutage = outcomes.length
    proxy.restore()

    let recovered = false
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = (await fetch(`${server.base}/ready`).catch(() => undefined))?.status === 200
      if (!recovered) await sleep(200)
    }
    expect(recovered).toBe(true)
    await sleep(1_000)
    running = false
    await Promise.all(writers)

    const acknowledged = outcomes.filter((o) => o.status === 201)
    const refused = outcomes.filter((o) => o.status !== 201)
    console.info(
      `F1: ${outcomes.length} writes (${acknowledged.length} acknowledged, ${refused.length} refused), ` +
        `1 outage injected after ${duringOutage} answers, proxy accepted ${proxy.accepted()} connections`
    )
    expect(acknowledged.length).toBeGreaterThan(0)
    expect(refused.length).toBeGreaterThan(0)
    for (const outcome of refused) {
      expect(outcome.status, outcome.title).toBe(503)
      expect(outcome.retryAfter, outcome.title).not.toBeNull()
    }
    // The process recovered on its own: new writes succeed after the outage.
    const after = await fetch(`${server.base}/api/v1/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "after the outage" })
    })
    expect(after.status).toBe(201)

    const rows = await database.query<{ title: string; tags: Array<string>; version: number }>(
      "SELECT title, tags, version FROM tasks WHERE user_id = $1",
      ["outage-user"]
    )
    const stored = new Map(rows.map((row) => [row.title, row]))
    for (const outcome of acknowledged) expect(stored.has(outcome.title), outcome.title).toBe(true)
    // A refused write is either absent or complete, never partial.
    for (const row of rows) {
      expect(row.version).toBe(1)
      if (row.title !== "after the outage") expect(row.tags).toEqual([row.title.split("-")[0]])
    }
    server.child.kill("SIGTERM")
    expect(await exited(server.child)).toBe(0)
    await proxy.close()
  }, 120_000)
})

describePostgres("graceful shutdown", () => {
  it("F2: SIGTERM during load lets in-flight requests finish, refuses new connections, exits 0, and loses no acknowledged write", async () => {
    const database = await createScratchDatabase(postgresUrl!, "shutdown")
    scratch.push(database)
    const cwd = tempDir()
    const server = await start(Path.join(cwd, "data"), cwd, {
      DATABASE_URL: database.url,
      BETTER_AUTH_SECRET: SECRET
    })
    const token = await tokenFor("shutdown-user")
    const outcomes: Array<Outcome> = []
    let running = true
    const writers = Array.from({ length: 8 }, (_, n) =>
      writer(server.base, token, `s${n}`, outcomes, () => running)
    )
    await sleep(1_500)
    server.child.kill("SIGTERM")
    const code = await exited(server.child)
    running = false
    await Promise.all(writers)
    expect(code).toBe(0)
    expect(server.output()).toContain("finishing in-flight requests")

    const refusedAfter = await fetch(`${server.base}/health`).then(
      () => "answered",
      () => "refused"
    )
    expect(refusedAfter).toBe("refused")
    const acknowledged = outcomes.filter((o) => o.status === 201)
    const failedStatuses = outcomes.filter((o) => o.status !== 201 && o.status !== "network")
    console.info(
      `F2: SIGTERM after ${acknowledged.length} acknowledged writes; ${outcomes.length - acknowledged.length} attempts met the closed server`
    )
    expect(acknowledged.length).toBeGreaterThan(0)
    expect(failedStatuses).toEqual([])
    const rows = await database.query<{ title: string }>("SELECT title FROM tasks WHERE user_id = $1", [
      "shutdown-user"
    ])
    const stored = new Set(rows.map((row) => row.title))
    for (const outcome of acknowledged) expect(stored.has(outcome.title), outcome.title).toBe(true)
  }, 120_000)
})

/** Opens a raw connection and sends exactly `text`, then waits. */
const rawRequest = (base: string, text: string) => {
  const url = new URL(base)
  const socket = Net.connect({ host: url.hostname, port: Number(url.port) })
  let received = ""
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()))
  socket.on("data", (chunk) => (received += chunk.toString()))
  socket.on("error", () => undefined)
  socket.write(text)
  return { socket, closed, received: () => received }
}

describe("slow and oversized requests", () => {
  it("F3: a client stalling mid-body is cut off by the request timeout without holding the database; an oversized body gets 413 unread", async () => {
    const cwd = tempDir()
    const server = await start(Path.join(cwd, "data"), cwd, { REQUEST_TIMEOUT_MS: "1500" })
    const stalled = rawRequest(
      server.base,
      `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":`
    )
    // The embedded database has a single connection: if the stalled request held it, this would wait.
    const meanwhile = await fetch(`${server.base}/api/v1/tasks`, {
      headers: { authorization: `Bearer ${server.token}` },
      signal: AbortSignal.timeout(20_000)
    })
    expect(meanwhile.status).toBe(200)
    await Promise.race([stalled.closed, sleep(20_000)])
    expect(stalled.socket.destroyed || stalled.socket.readableEnded).toBe(true)

    const oversized = rawRequest(
      server.base,
      `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"title":"${"x".repeat(1000)}`
    )
    for (let i = 0; i < 100 && !oversized.received().includes("\r\n\r\n"); i++) await sleep(100)
    expect(oversized.received()).toMatch(/^HTTP\/1\.1 413 /)
    oversized.socket.destroy()

    // Without a Content-Length the size is only known while reading: a chunked body is cut off at the limit.
    const title = `{"title":"${"y".repeat(1024 * 1024 + 16)}"}`
    const chunked = rawRequest(
      server.base,
      `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(title).toString(16)}\r\n${title}\r\n0\r\n\r\n`
    )
    for (let i = 0; i < 100 && !chunked.received().includes("\r\n\r\n"); i++) await sleep(100)
    expect(chunked.received()).toMatch(/^HTTP\/1\.1 413 /)
    chunked.socket.destroy()
    // A body delimited by its Content-Length is read as declared, and one in chunks within the limit too.
    const small = JSON.stringify({ title: "Delimited" })
    const delimited = await fetch(`${server.base}/api/v1/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: small
    })
    expect(delimited.status).toBe(201)
    const inChunks = rawRequest(
      server.base,
      `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{"tit\r\n${(Buffer.byteLength(small) - 5).toString(16)}\r\n${small.slice(5).replace("Delimited", "Chunked!!")}\r\n0\r\n\r\n`
    )
    await Promise.race([inChunks.closed, sleep(20_000)])
    expect(inChunks.received()).toMatch(/^HTTP\/1\.1 201 /)
    const listed = await fetch(`${server.base}/api/v1/tasks`, {
      headers: { authorization: `Bearer ${server.token}` }
    })
    const titles = ((await listed.json()) as { items: Array<{ title: string }> }).items.map(
      (task) => task.title
    )
    expect(titles.sort()).toEqual(["Chunked!!", "Delimited"])
    console.info(
      "F3: 1 stalled body cut off by the request timeout, 2 oversized bodies (declared, chunked) refused before reading"
    )
    server.child.kill("SIGTERM")
    expect(await exited(server.child)).toBe(0)
  }, 90_000)
})
