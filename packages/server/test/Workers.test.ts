/**
 * `taskport serve` with WEB_CONCURRENCY as real processes: the setting's values, several
 * workers on one port over the real Postgres, draining on SIGTERM with a request in flight,
 * a killed worker replaced, and the refusals (the embedded database, a worker that cannot
 * start).
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { TokenMinter } from "@taskport/auth"
import { ServerConfig, Supervisor } from "@taskport/server"
import {
  createScratchDatabase,
  realPostgresUrl,
  type ScratchDatabase
} from "@taskport/test-support/ScratchDatabase"
import { exited, killAll, runCli, type Started, start } from "@taskport/test-support/ServerProcess"
import { Effect, Redacted } from "effect"
import Pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const SECRET = "workers-suite-secret-0123456789-abcdefghijklm"
const postgresUrl = realPostgresUrl()
let database: ScratchDatabase | undefined

beforeAll(async () => {
  if (postgresUrl !== undefined) database = await createScratchDatabase(postgresUrl, "workers")
})
afterAll(async () => {
  killAll()
  await database?.drop()
})

const tempDir = (label: string) => Fs.mkdtempSync(Path.join(Os.tmpdir(), `taskport-${label}-`))

const tokenFor = (user: string) =>
  TokenMinter.mintToken({ secret: Redacted.make(SECRET), subject: user, ttlSeconds: 3600 })

/** One GET on a connection of its own, so that the primary hands every request to a worker afresh. */
const getAlone = (base: string, path: string, token: string) =>
  new Promise<number>((resolve, reject) => {
    const request = Http.get(
      `${base}${path}`,
      { agent: false, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode ?? 0))
      }
    )
    request.on("error", reject)
  })

/** The worker pids of the request lines in the output (LOG_LEVEL=info), in order. */
const requestPids = (output: string): Array<number> =>
  output
    .split("\n")
    .filter((line) => line.includes('"msg":"request"'))
    .map((line) => (JSON.parse(line) as { pid?: number }).pid ?? -1)

const workerPids = (output: string): Array<number> =>
  (/with \d+ workers \(pids ([\d, ]+)\)/.exec(output)?.[1] ?? "").split(", ").map(Number)

const until = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const refusesConnections = (base: string) =>
  new Promise<boolean>((resolve) => {
    const url = new URL(base)
    const socket = Net.connect(Number(url.port), url.hostname)
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

describe("WEB_CONCURRENCY", () => {
  it("J1: defaults to 1, takes a whole number of workers or auto (the machine's cores), and names itself when wrong", async () => {
    const load = (env: NodeJS.ProcessEnv) => Effect.runPromise(Effect.result(ServerConfig.load(env)))
    const value = async (env: NodeJS.ProcessEnv) => {
      const result = await load(env)
      return result._tag === "Success" ? result.success.webConcurrency : result.failure.message
    }
    expect(await value({})).toBe(1)
    expect(await value({ WEB_CONCURRENCY: "3" })).toBe(3)
    expect(await value({ WEB_CONCURRENCY: "auto" })).toBe(Os.availableParallelism())
    for (const bad of ["0", "1.5", "many", "-2"]) {
      expect(await value({ WEB_CONCURRENCY: bad })).toContain("WEB_CONCURRENCY")
    }
  })

  it("J5: the embedded database refuses more than one worker with one line and a non-zero exit", async () => {
    const cwd = tempDir("workers-embedded")
    const refused = await runCli(["serve"], Path.join(cwd, "data"), cwd, { WEB_CONCURRENCY: "2" })
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split("\n")).toEqual([
      "taskport: WEB_CONCURRENCY=2 needs Postgres (DATABASE_URL): the embedded PGlite database can be opened by one process only; set WEB_CONCURRENCY=1 or leave it unset"
    ])
    // Refused before anything was opened: the data directory was not even created.
    expect(Fs.existsSync(Path.join(cwd, "data"))).toBe(false)
  })

  it("J6: a replacement waits 0.1 s after a short-lived worker, doubling with each, up to 10 s", () => {
    expect([1, 2, 3, 4, 5, 8, 20].map(Supervisor.backoffMs)).toEqual([
      100, 200, 400, 800, 1600, 10_000, 10_000
    ])
  })
})

// Several processes need a server database; under CI=true its absence is an error (realPostgresUrl).
if (postgresUrl !== undefined) {
  describe("workers on Postgres", () => {
    const serve = (label: string, extra: NodeJS.ProcessEnv = {}): Promise<Started> => {
      const cwd = tempDir(label)
      return start(Path.join(cwd, "data"), cwd, {
        DATABASE_URL: database!.url,
        BETTER_AUTH_SECRET: SECRET,
        DATABASE_POOL_SIZE: "2",
        ...extra
      })
    }

    it("J2: WEB_CONCURRENCY=auto runs one worker per core on one port, says so, and both serve", async () => {
      const cores = Os.availableParallelism()
      const server = await serve("workers-auto", { WEB_CONCURRENCY: "auto", LOG_LEVEL: "info" })
      const pids = workerPids(server.output())
      expect(server.output()).toContain(`with ${cores} workers`)
      expect(pids).toHaveLength(cores)
      expect(pids).not.toContain(server.child.pid)
      const token = await tokenFor("workers-auto")
      for (let n = 0; n < 4 * cores; n++)
        expect(await getAlone(server.base, "/api/v1/tasks", token)).toBe(200)
      await until(() => requestPids(server.output()).length >= 4 * cores, "the request lines")
      // Every worker answered some of the requests, and only workers did.
      expect(new Set(requestPids(server.output()))).toEqual(new Set(pids))
      server.child.kill("SIGTERM")
      expect(await exited(server.child)).toBe(0)
    }, 120_000)

    it("J3: SIGTERM lets a request in flight finish on its worker, then every worker and the primary exit 0", async () => {
      const server = await serve("workers-drain", { WEB_CONCURRENCY: "2" })
      const token = await tokenFor("workers-drain")
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const created = await fetch(`${server.base}/api/v1/tasks`, {
        method: "POST",
        headers,
        body: JSON.stringify({ title: "Rename me while draining" })
      })
      expect(created.status).toBe(201)
      const { id } = (await created.json()) as { id: number }

      // The test holds the task's row lock, so the rename waits inside a worker until released.
      const holder = new Pg.Client({ connectionString: database!.url })
      await holder.connect()
      try {
        await holder.query("BEGIN")
        await holder.query("SELECT id FROM tasks WHERE id = $1 FOR UPDATE", [id])
        const rename = fetch(`${server.base}/api/v1/tasks/${id}`, {
          method: "PATCH",
          headers,
          body: JSON.stringify({ title: "Renamed while draining" })
        })
        await until(async () => {
          const waiting = await holder.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
          )
          return (waiting.rows[0]?.n ?? 0) > 0
        }, "the rename to wait on the lock")

        server.child.kill("SIGTERM")
        // Every worker has closed its listener (the shared port refuses connections), and the
        // rename is still waiting.
        await until(() => refusesConnections(server.base), "the port to close")
        expect(server.child.exitCode).toBe(null)
        await holder.query("COMMIT")

        const renamed = await rename
        expect(renamed.status).toBe(200)
        expect(((await renamed.json()) as { title: string }).title).toBe("Renamed while draining")
      } finally {
        await holder.end()
      }
      expect(await exited(server.child)).toBe(0)
      expect(server.output()).toContain("Stopping: 2 workers finishing in-flight requests...")
      expect(server.output()).toContain("Stopped.")
      expect(server.output()).not.toContain("while stopping")
      const stored = await database!.query<{ title: string }>("SELECT title FROM tasks WHERE id = $1", [id])
      expect(stored.map((row) => row.title)).toEqual(["Renamed while draining"])
    }, 120_000)

    it("J4: a killed worker is replaced, the new one takes its share of the requests, and one killed young again waits twice as long", async () => {
      const server = await serve("workers-replace", { WEB_CONCURRENCY: "2", LOG_LEVEL: "info" })
      const [victim, survivor] = workerPids(server.output())
      expect(victim).toBeGreaterThan(0)
      process.kill(victim!, "SIGKILL")
      await until(() => /Worker \d+ is serving in place of \d+\./.test(server.output()), "the replacement")
      expect(server.output()).toContain(`Worker ${victim} was killed by SIGKILL; starting another in 100 ms.`)
      const replacement = Number(/Worker (\d+) is serving in place of/.exec(server.output())?.[1])
      expect(replacement).not.toBe(victim)

      const before = requestPids(server.output()).length
      const token = await tokenFor("workers-replace")
      for (let n = 0; n < 8; n++) expect(await getAlone(server.base, "/api/v1/tasks", token)).toBe(200)
      await until(() => requestPids(server.output()).length >= before + 8, "the request lines")
      expect(new Set(requestPids(server.output()).slice(before))).toEqual(new Set([survivor, replacement]))

      // The replacement dies young too: this one waits twice as long.
      process.kill(replacement, "SIGKILL")
      await until(
        () => server.output().includes(`is serving in place of ${replacement}.`),
        "the second replacement"
      )
      expect(server.output()).toContain(
        `Worker ${replacement} was killed by SIGKILL; starting another in 200 ms.`
      )
      server.child.kill("SIGINT")
      expect(await exited(server.child)).toBe(0)
    }, 120_000)

    it("J6: a worker that cannot start stops the server with a non-zero exit instead of a crash loop", async () => {
      const taken = Net.createServer()
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
      const port = (taken.address() as Net.AddressInfo).port
      try {
        const cwd = tempDir("workers-port")
        const failed = await runCli(["serve"], Path.join(cwd, "data"), cwd, {
          DATABASE_URL: database!.url,
          BETTER_AUTH_SECRET: SECRET,
          WEB_CONCURRENCY: "2",
          PORT: String(port)
        })
        expect(failed.code).toBe(1)
        expect(failed.stderr).toMatch(/taskport: worker \d+ exited with code 1 before the server was serving/)
        expect(failed.stderr).not.toMatch(/\n\s+at /)
      } finally {
        taken.close()
      }
    }, 120_000)
  })
}
