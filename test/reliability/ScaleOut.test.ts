/**
 * Taskport as stateless processes over one Postgres: three `taskport serve` processes take
 * requests round-robin; one conversation's turns alternate across them; a process killed
 * with SIGKILL between turns loses nothing and the conversation goes on elsewhere; turns sent
 * at once through different processes are all stored, in one total order.
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

const SECRET = "scale-out-suite-secret-0123456789-abcdefghijk"
const scratch: Array<ScratchDatabase> = []
afterAll(async () => {
  killAll()
  for (const database of scratch) await database.drop().catch(() => undefined)
})

interface ChatReply {
  readonly conversation_id: string
  readonly agent_response: string
  readonly tool_calls: ReadonlyArray<{ readonly name: string; readonly is_error: boolean }>
}
interface StoredMessage {
  readonly id: number
  readonly role: "user" | "assistant"
  readonly content: string
}

const postgresUrl = realPostgresUrl()

// Needs a real Postgres shared by several processes; under CI=true its absence is an error.
if (postgresUrl !== undefined) {
  describe("scale-out", () => {
    it("S1: three processes serve one user and one conversation round-robin, survive a SIGKILL and keep concurrent turns in one order", async () => {
      const database = await createScratchDatabase(postgresUrl, "scale")
      scratch.push(database)
      const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-scale-"))
      const settings = { DATABASE_URL: database.url, BETTER_AUTH_SECRET: SECRET, DATABASE_POOL_SIZE: "3" }
      // Started together: migrations must serialise on their lock, not collide.
      const servers: Array<Started> = await Promise.all(
        [0, 1, 2].map((n) => start(Path.join(cwd, `data-${n}`), cwd, settings))
      )
      const token = await TokenMinter.mintToken({
        secret: Redacted.make(SECRET),
        subject: "scale-user",
        ttlSeconds: 3600
      })
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      let next = 0
      const live = () =>
        servers.filter((server) => server.child.exitCode === null && server.child.signalCode === null)
      const pick = () => {
        const alive = live()
        return alive[next++ % alive.length]!
      }
      const chat = async (server: Started, message: string, conversation?: string) => {
        const response = await fetch(`${server.base}/api/v1/chat`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify(
            conversation === undefined ? { message } : { message, conversation_id: conversation }
          )
        })
        expect(response.status, await response.clone().text()).toBe(200)
        return (await response.json()) as ChatReply
      }

      // Tasks written through one process are visible through every other.
      for (let i = 0; i < 6; i++) {
        const created = await fetch(`${pick().base}/api/v1/tasks`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ title: `shared ${i}` })
        })
        expect(created.status).toBe(201)
      }
      for (const server of servers) {
        const listed = (await (await fetch(`${server.base}/api/v1/tasks`, { headers: auth })).json()) as {
          items: Array<unknown>
        }
        expect(listed.items).toHaveLength(6)
      }

      // One conversation, its turns alternating across the processes.
      const first = await chat(pick(), "add a task to buy groceries")
      const conversation = first.conversation_id
      expect(first.tool_calls.map((call) => call.name)).toEqual(["todo_create"])
      for (const message of ["show me all my tasks", "what's pending?", "add a task to call the plumber"]) {
        await chat(pick(), message, conversation)
      }

      // A process dies between turns; the conversation continues on another.
      const victim = live()[0]!
      victim.child.kill("SIGKILL")
      await new Promise((resolve) => victim.child.once("exit", resolve))
      const afterKill = await chat(pick(), "what have I completed?", conversation)
      expect(afterKill.conversation_id).toBe(conversation)

      // Concurrent turns on the same conversation through the surviving processes.
      const concurrent = Array.from({ length: 8 }, (_, i) => `add a task to concurrent item ${i}`)
      await Promise.all(concurrent.map((message) => chat(pick(), message, conversation)))

      const messages: Array<StoredMessage> = []
      let cursor: string | null = null
      do {
        const query: string =
          cursor === null ? "?limit=100" : `?limit=100&cursor=${encodeURIComponent(cursor)}`
        const page = (await (
          await fetch(`${pick().base}/api/v1/conversations/${conversation}/messages${query}`, {
            headers: auth
          })
        ).json()) as { items: Array<StoredMessage>; next_cursor: string | null }
        messages.push(...page.items)
        cursor = page.next_cursor
      } while (cursor !== null)

      const turns = 1 + 3 + 1 + concurrent.length
      console.info(
        `S1: 3 processes, ${turns} turns (${concurrent.length} concurrent), 1 SIGKILL, ${messages.length} messages stored`
      )
      expect(messages).toHaveLength(turns * 2)
      expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length)
      const userMessages = messages.filter((m) => m.role === "user").map((m) => m.content)
      expect(userMessages.slice(0, 5)).toEqual([
        "add a task to buy groceries",
        "show me all my tasks",
        "what's pending?",
        "add a task to call the plumber",
        "what have I completed?"
      ])
      expect([...userMessages.slice(5)].sort()).toEqual([...concurrent].sort())
      // The offline interpreter capitalises titles; compare without case.
      const titles = (
        await database.query<{ title: string }>("SELECT title FROM tasks WHERE user_id = $1", ["scale-user"])
      ).map((row) => row.title.toLowerCase())
      for (let i = 0; i < concurrent.length; i++) expect(titles).toContain(`concurrent item ${i}`)
      expect(titles).toEqual(expect.arrayContaining(["buy groceries", "call the plumber"]))
      for (const server of live()) server.child.kill("SIGTERM")
    }, 180_000)
  })
}
