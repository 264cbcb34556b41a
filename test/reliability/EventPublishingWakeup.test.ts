/**
 * Publishing to NATS from a running `taskport serve`, woken by the outbox's notifications:
 * with the poll interval at its ten-minute maximum, each task written through the API reaches
 * the broker within seconds, which only the commit's wakeup can bring about. On the embedded
 * PGlite (its own notifications) and on Postgres (LISTEN/NOTIFY).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import {
  createScratchDatabase,
  realPostgresUrl,
  type ScratchDatabase
} from "@taskport/test-support/ScratchDatabase"
import { killAll, start } from "@taskport/test-support/ServerProcess"
import { natsUrl } from "@taskport/test-support/TestNats"
import { afterAll, describe, expect, it } from "vitest"

const url = natsUrl()
const postgresUrl = realPostgresUrl()
const root = Path.resolve(import.meta.dirname, "../..")

const scratch: Array<ScratchDatabase> = []
const connections: Array<NatsConnection> = []
afterAll(async () => {
  killAll()
  for (const nc of connections) await nc.close()
  for (const database of scratch) await database.drop().catch(() => undefined)
})

/** Waits for a condition the server brings about; fails the test after a bound far below the poll interval. */
const until = async (what: string, condition: () => boolean) => {
  const deadline = Date.now() + 20_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

interface Published {
  readonly subject: string
  readonly body: { readonly type: string; readonly task_id: number; readonly user_id: string }
}

const databases: ReadonlyArray<{
  readonly name: string
  readonly settings: () => Promise<NodeJS.ProcessEnv>
}> = [
  { name: "the embedded PGlite", settings: async () => ({}) },
  ...(postgresUrl === undefined
    ? []
    : [
        {
          name: "Postgres",
          settings: async () => {
            const database = await createScratchDatabase(postgresUrl, "publishing")
            scratch.push(database)
            return { DATABASE_URL: database.url }
          }
        }
      ])
]

if (url !== undefined) {
  describe.each(databases)("events published to NATS by taskport serve on $name", ({ settings }) => {
    it("N4: with a ten-minute poll, each new task's event arrives within seconds: the commit wakes the publisher", async () => {
      const nc = await connect({ servers: url })
      connections.push(nc)
      // JetStream publishes are ordinary messages on their subjects: a plain subscription sees them.
      const seen: Array<Published> = []
      const subscription = nc.subscribe("taskport.events.>")
      void (async () => {
        for await (const message of subscription) {
          seen.push({ subject: message.subject, body: message.json() })
        }
      })()
      await nc.flush()

      const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-publishing-"))
      const server = await start(cwd, root, {
        ...(await settings()),
        NATS_URL: url,
        WEBHOOK_POLL_MS: "600000"
      })
      const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" }
      // The second task is written after the first was published, so the publisher is idle
      // in its wait by then, whenever its first round ran.
      for (const title of ["Published on a wakeup", "Published on the next wakeup"]) {
        const response = await fetch(`${server.base}/api/v1/tasks`, {
          method: "POST",
          headers,
          body: JSON.stringify({ title })
        })
        expect(response.status).toBe(201)
        const task = (await response.json()) as { id: number }
        await until(`the event of task ${task.id} was published`, () =>
          seen.some((each) => each.body.task_id === task.id && each.body.type === "task.created")
        )
        const event = seen.find((each) => each.body.task_id === task.id)
        expect(event?.subject).toBe("taskport.events.task.created")
      }
      subscription.unsubscribe()
    })
  })
}
