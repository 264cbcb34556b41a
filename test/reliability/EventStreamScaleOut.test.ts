/**
 * The live event stream across server processes on one Postgres: a stream held on one
 * `taskport serve` process receives the changes made through another (Postgres
 * LISTEN/NOTIFY wakes every process; each reads the outbox), and a client that disconnects
 * resumes on the other process with Last-Event-ID, missing and repeating nothing. Over a real
 * socket, an idle stream sends heartbeats.
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
import { type SseReader, sseReader } from "@taskport/test-support/SseReader"
import { Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"

const SECRET = "event-stream-suite-secret-0123456789-abcdefgh"
const scratch: Array<ScratchDatabase> = []
afterAll(async () => {
  killAll()
  for (const database of scratch) await database.drop().catch(() => undefined)
})

interface Event {
  readonly position: number
  readonly type: string
  readonly task_id: number
}

const postgresUrl = realPostgresUrl()

// Needs a real Postgres shared by two processes; under CI=true its absence is an error.
if (postgresUrl !== undefined) {
  describe("event stream across processes", () => {
    it("V11: a change through one process reaches a stream on another; a resumed stream misses and repeats nothing", async () => {
      const database = await createScratchDatabase(postgresUrl, "events")
      scratch.push(database)
      const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-events-"))
      const settings = {
        DATABASE_URL: database.url,
        BETTER_AUTH_SECRET: SECRET,
        DATABASE_POOL_SIZE: "3",
        EVENT_STREAM_HEARTBEAT_MS: "50"
      }
      const [a, b] = (await Promise.all(
        [0, 1].map((n) => start(Path.join(cwd, `data-${n}`), cwd, settings))
      )) as [Started, Started]
      const token = await TokenMinter.mintToken({
        secret: Redacted.make(SECRET),
        subject: "stream-user",
        ttlSeconds: 3600
      })
      const auth = { authorization: `Bearer ${token}` }
      const open = async (server: Started, lastEventId?: string): Promise<SseReader> => {
        const response = await fetch(`${server.base}/api/v1/events/stream`, {
          headers: lastEventId === undefined ? auth : { ...auth, "last-event-id": lastEventId }
        })
        expect(response.status).toBe(200)
        const reader = sseReader(response.body as ReadableStream<Uint8Array>)
        const ready = await reader.next()
        expect(ready?.comments.some((comment) => comment.startsWith("ready"))).toBe(true)
        return reader
      }
      const event = async (reader: SseReader): Promise<Event> => {
        const frame = await reader.nextEvent()
        const parsed = JSON.parse(frame?.data ?? "{}") as Event
        expect(frame?.id).toBe(String(parsed.position))
        return parsed
      }
      const write = async (server: Started, method: string, path: string, body?: unknown) => {
        const response = await fetch(`${server.base}/api/v1${path}`, {
          method,
          headers: { ...auth, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
        expect(response.status, await response.clone().text()).toBeLessThan(300)
        return response.status === 204 ? undefined : ((await response.json()) as { id: number })
      }

      const onB = await open(b)
      // An idle stream over a real socket says it is alive.
      const beat = await onB.next()
      expect(beat?.comments).toEqual(["heartbeat"])
      const task = await write(a, "POST", "/tasks", { title: "Written on A" })
      const created = await event(onB)
      expect([created.position, created.type, created.task_id]).toEqual([1, "task.created", task?.id])
      await write(a, "PATCH", `/tasks/${task?.id}`, { title: "Changed on A" })
      expect((await event(onB)).position).toBe(2)
      await onB.cancel()

      // While disconnected, changes through both processes; then resume on A.
      await write(b, "POST", `/tasks/${task?.id}/complete`, {})
      await write(a, "POST", "/tasks", { title: "Second" })
      const onA = await open(a, "2")
      const replayed = [await event(onA), await event(onA)]
      expect(replayed.map((item) => [item.position, item.type])).toEqual([
        [3, "task.completed"],
        [4, "task.created"]
      ])
      await write(b, "DELETE", `/tasks/${task?.id}`)
      expect([(await event(onA)).position, "live"]).toEqual([5, "live"])
      await onA.cancel()
    }, 120_000)
  })
}
