/**
 * Safe writes across `taskport serve` processes over one Postgres: nothing of an idempotency
 * key, the trash or a pending chat action lives in a process, so a key used on one process is
 * honoured by another, a task trashed through one is restored through another, and a chat
 * delete asked on one is confirmed on the other.
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
import { Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"

const SECRET = "safe-writes-suite-secret-0123456789-abcdefghijk"
const scratch: Array<ScratchDatabase> = []
afterAll(async () => {
  killAll()
  for (const database of scratch) await database.drop().catch(() => undefined)
})

const postgresUrl = realPostgresUrl()

if (postgresUrl !== undefined) {
  describe("safe writes across processes", () => {
    it("W12 W26: a key used on one process is honoured on another; the trash and pending chat actions are shared", async () => {
      const database = await createScratchDatabase(postgresUrl, "safe")
      scratch.push(database)
      const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-safe-"))
      const settings = { DATABASE_URL: database.url, BETTER_AUTH_SECRET: SECRET, DATABASE_POOL_SIZE: "2" }
      const [one, two]: Array<Started> = await Promise.all(
        [0, 1].map((n) => start(Path.join(cwd, `data-${n}`), cwd, settings))
      )
      const token = await TokenMinter.mintToken({
        secret: Redacted.make(SECRET),
        subject: "safe-user",
        ttlSeconds: 3600
      })
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const post = (server: Started, path: string, body: unknown, extra: Record<string, string> = {}) =>
        fetch(`${server.base}${path}`, {
          method: "POST",
          headers: { ...headers, ...extra },
          body: JSON.stringify(body)
        })

      const key = { "idempotency-key": "lost-answer-1" }
      const first = await post(one!, "/api/v1/tasks", { title: "Buy milk" }, key)
      const retried = await post(two!, "/api/v1/tasks", { title: "Buy milk" }, key)
      expect(first.status).toBe(201)
      expect(retried.status).toBe(201)
      const task = (await first.json()) as { id: number }
      expect(await retried.json()).toEqual(task)
      expect(retried.headers.get("location")).toBe(first.headers.get("location"))
      const refused = await post(two!, "/api/v1/tasks", { title: "Something else" }, key)
      expect(refused.status).toBe(422)
      const rows = await database.query<{ id: number }>("SELECT id FROM tasks WHERE user_id = $1", [
        "safe-user"
      ])
      expect(rows.map((row) => row.id)).toEqual([task.id])

      const deleted = await fetch(`${one!.base}/api/v1/tasks/${task.id}`, { method: "DELETE", headers })
      expect(deleted.status).toBe(204)
      const restored = await post(two!, `/api/v1/tasks/${task.id}/restore`, {})
      expect(restored.status).toBe(200)
      expect(((await restored.json()) as { version: number }).version).toBe(2)

      // A pending chat action made through one process is confirmed through the other.
      const asked = (await (
        await post(one!, "/api/v1/chat", { message: `delete task ${task.id}` })
      ).json()) as {
        conversation_id: string
        pending_action: { id: string; summary: string }
      }
      expect(asked.pending_action.summary).toBe(`Delete task ${task.id} 'Buy milk'`)
      const confirmed = await post(two!, "/api/v1/chat", {
        conversation_id: asked.conversation_id,
        confirm: asked.pending_action.id
      })
      expect(((await confirmed.json()) as { agent_response: string }).agent_response).toBe(
        `Done: Delete task ${task.id} 'Buy milk'.`
      )
      const reused = await post(one!, "/api/v1/chat", {
        conversation_id: asked.conversation_id,
        message: "yes"
      })
      expect(((await reused.json()) as { tool_calls: Array<unknown> }).tool_calls).toEqual([])
      const trashed = await database.query<{ id: number }>(
        "SELECT id FROM tasks WHERE user_id = $1 AND deleted_at IS NOT NULL",
        ["safe-user"]
      )
      expect(trashed.map((row) => row.id)).toEqual([task.id])
      for (const server of [one!, two!]) server.child.kill("SIGTERM")
    }, 180_000)
  })
}
