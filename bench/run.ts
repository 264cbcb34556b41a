/**
 * `npm run bench`: measures the built `taskport serve` as a separate process and prints one
 * table with the figures and the targets they are held to.
 *
 * - Throughput: each workload of Workloads.ts at each connection count, after a warm-up,
 *   driven by autocannon from this process against a server on the Postgres named by
 *   BENCH_DATABASE_URL (or TEST_DATABASE_URL), next to its ceiling: the same SQL through
 *   the same client at the same concurrency without the server (Ceiling.ts).
 * - Scaling: first-page latency for one user holding more and more tasks.
 * - Embedded: start-up time on a fresh and on an existing PGlite data directory, and the
 *   server's memory after a load.
 *
 * Settings come from the environment (Settings.ts): BENCH_DURATION=3 BENCH_WARMUP=1 gives a
 * quick look; BENCH_CPU_PROF=<dir> profiles the server of the throughput part.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { TokenMinter } from "@taskport/auth"
import { Effect, ManagedRuntime, Redacted } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import { bind, measure as measureCeiling } from "./Ceiling.ts"
import * as Database from "./Database.ts"
import { drive, type LoadRequest, type Measurement } from "./Load.ts"
import * as Report from "./Report.ts"
import * as ServerProcess from "./ServerProcess.ts"
import * as Settings from "./Settings.ts"
import {
  type BenchUser,
  captureCeiling,
  firstPage,
  type MeasuredWorkload,
  measured,
  pending,
  pendingScaling,
  workloads
} from "./Workloads.ts"

const USERS = 100
const TASKS_PER_USER = 20
const SCALING_USER = "bench-scale"
const EMBEDDED_USERS = 10

const settings = Settings.read()
const secret = Crypto.randomBytes(48).toString("base64url")
const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-bench-"))
const notes: Array<string> = []
const progress = (line: string) => process.stderr.write(`${line}\n`)

const tokenFor = (user: string) =>
  TokenMinter.mintToken({ secret: Redacted.make(secret), subject: user, ttlSeconds: 6 * 3600 })

const describeDatabase = (url: string) => {
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
}

/** Sends one request and checks it before any load, so a broken workload fails loudly. */
const preflight = async (base: string, workload: MeasuredWorkload, request: LoadRequest) => {
  const init: RequestInit = { method: request.method, headers: { ...request.headers } }
  if (request.body !== undefined) init.body = request.body
  const response = await fetch(`${base}${request.path}`, init)
  const body = await response.text()
  if (response.status !== workload.expect.status || !workload.expect.body(body)) {
    throw new Error(
      `${workload.name}: expected ${workload.expect.status} with the right body, got ${response.status}: ${body.slice(0, 400)}`
    )
  }
}

type Runtime = ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, SqlError.SqlError>

const throughput = async (
  base: string,
  pid: number,
  runtime: Runtime,
  users: ReadonlyArray<BenchUser>
): Promise<Array<Report.ThroughputRow>> => {
  const byId = new Map(users.map((user) => [user.id, user]))
  const rows: Array<Report.ThroughputRow> = []
  for (const workload of measured(settings.workloads)) {
    const statement = await captureCeiling(workload)
    const targets = workload.targets(users)
    const requests = targets.map((target, index) => workload.request(target, byId.get(target.owner)!, index))
    await preflight(base, workload, requests[0]!)
    const cleanup = () => (workload.creates ? runtime.runPromise(Database.removeCreated) : Promise.resolve())
    await cleanup()
    for (const connections of settings.connections) {
      const load = (durationSeconds: number) =>
        drive({ base, requests, connections, durationSeconds, accept: workload.accept })
      const ceiling = (seconds: number) =>
        runtime.runPromise(measureCeiling(statement, targets, connections, seconds * 1000))
      progress(`${workload.name} at ${connections} connections: server...`)
      await load(settings.warmupSeconds)
      const cpuBefore = ServerProcess.cpuMicros(pid)
      const measuredLoad = await load(settings.durationSeconds)
      const cpuAfter = ServerProcess.cpuMicros(pid)
      const server: Measurement = {
        ...measuredLoad,
        cpuPerRequestUs:
          cpuBefore === undefined || cpuAfter === undefined || measuredLoad.requests === 0
            ? undefined
            : (cpuAfter - cpuBefore) / measuredLoad.requests
      }
      await cleanup()
      progress(`${workload.name} at ${connections} connections: ceiling...`)
      await ceiling(settings.warmupSeconds)
      const direct = await ceiling(settings.durationSeconds)
      await cleanup()
      rows.push({
        workload: workload.name,
        description: workload.description,
        connections,
        server,
        ceiling: direct,
        ratio: server.requestsPerSecond / direct.requestsPerSecond
      })
    }
  }
  return rows
}

const scaling = async (base: string, runtime: Runtime): Promise<Array<Report.ScalingRow>> => {
  const list = workloads.find((w): w is MeasuredWorkload => w.kind === "measured" && w.name === "list")!
  const statement = await captureCeiling(list)
  const token = await tokenFor(SCALING_USER)
  const user: BenchUser = { id: SCALING_USER, token, taskIds: [] }
  const request = list.request({ owner: SCALING_USER }, user, 0)
  const seconds = Math.max(2, settings.durationSeconds / 2)
  const rows: Array<Report.ScalingRow> = []
  for (const tasks of settings.scalingSizes) {
    progress(`list first page with ${tasks} tasks...`)
    await runtime.runPromise(Database.fillUser(SCALING_USER, tasks))
    await drive({ base, requests: [request], connections: 1, durationSeconds: settings.warmupSeconds })
    const server = await drive({ base, requests: [request], connections: 1, durationSeconds: seconds })
    const plan = await runtime.runPromise(
      Database.explain(statement, bind(statement, SCALING_USER, undefined))
    )
    rows.push({ tasks, server, plan })
  }
  await runtime.runPromise(Database.removeUser(SCALING_USER))
  return rows
}

const postgresParts = async (url: string) => {
  progress(`Postgres at ${describeDatabase(url)}, schema ${Database.SCHEMA}`)
  await Effect.runPromise(Database.resetSchema(url))
  const server = await ServerProcess.start({
    cwd: work,
    dataDir: Path.join(work, "data"),
    secret,
    databaseUrl: Database.urlWithSchema(url),
    poolSize: settings.poolSize,
    cpuProfileDir: settings.cpuProfileDir,
    bin: settings.serverBin
  })
  const runtime: Runtime = ManagedRuntime.make(Database.client(url, settings.poolSize))
  try {
    const byUser = await runtime.runPromise(Database.seed(USERS, TASKS_PER_USER))
    const users = await Promise.all(
      [...byUser].map(async ([id, taskIds]) => ({ id, token: await tokenFor(id), taskIds }))
    )
    const rows = settings.parts.has("throughput")
      ? await throughput(server.base, server.pid, runtime, users)
      : []
    const scaled = settings.parts.has("scaling") ? await scaling(server.base, runtime) : []
    return { rows, scaled }
  } finally {
    await server.stop()
    await runtime.dispose()
    await Effect.runPromise(Database.dropSchema(url))
  }
}

const embedded = async (): Promise<Report.EmbeddedFigures> => {
  const dataDir = Path.join(work, "embedded")
  const startTimed = async () => {
    const server = await ServerProcess.start({ cwd: work, dataDir, secret, bin: settings.serverBin })
    const healthMs = await ServerProcess.firstOk(`${server.base}/health`, server.spawnedAt)
    const readyMs = await ServerProcess.firstOk(`${server.base}/ready`, server.spawnedAt)
    const output = server
      .output()
      .filter((line) => line.at <= readyMs)
      .map((line) => `${line.at.toFixed(0).padStart(6)} ms  ${line.text}`)
    const rssBytes = ServerProcess.rssBytes(server.pid)
    return { server, figures: { healthMs, readyMs, output, rssBytes } }
  }
  progress("embedded: fresh data directory...")
  const fresh = await startTimed()
  await fresh.server.stop()
  // The load runs on the restarted server: that is the state a server spends its life in,
  // while the first start also carries what initialising the database left behind.
  progress("embedded: existing data directory...")
  const existing = await startTimed()
  let load: Measurement
  let rssAfterLoadBytes: number | undefined
  let rssPeakBytes: number | undefined
  try {
    const users: Array<BenchUser> = []
    for (let index = 0; index < EMBEDDED_USERS; index++) {
      const id = Database.userName(index)
      const token = await tokenFor(id)
      await Promise.all(
        Array.from({ length: TASKS_PER_USER }, (_, t) =>
          fetch(`${existing.server.base}/api/v1/tasks`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ title: `Task ${t} of ${id}`, priority: "medium" })
          }).then((response) => response.arrayBuffer())
        )
      )
      users.push({ id, token, taskIds: [] })
    }
    const list = workloads.find((w): w is MeasuredWorkload => w.kind === "measured" && w.name === "list")!
    const requests = users.map((user, index) => list.request({ owner: user.id }, user, index))
    progress("embedded: list under load...")
    const sampler = setInterval(() => {
      const rss = ServerProcess.rssBytes(existing.server.pid)
      if (rss !== undefined) rssPeakBytes = Math.max(rssPeakBytes ?? 0, rss)
    }, 250)
    load = await drive({
      base: existing.server.base,
      requests,
      connections: 10,
      durationSeconds: settings.durationSeconds
    })
    clearInterval(sampler)
    rssAfterLoadBytes = ServerProcess.rssBytes(existing.server.pid)
  } finally {
    await existing.server.stop()
  }
  return { fresh: fresh.figures, existing: existing.figures, load, rssAfterLoadBytes, rssPeakBytes }
}

const targetsOf = (
  rows: ReadonlyArray<Report.ThroughputRow>,
  scaled: ReadonlyArray<Report.ScalingRow>,
  embedded: Report.EmbeddedFigures | undefined
): Array<Report.Target> => {
  const targets: Array<Report.Target> = []
  const top = Math.max(...settings.connections)
  const row = (workload: string, connections: number) =>
    rows.find((r) => r.workload === workload && r.connections === connections)
  for (const name of ["read", "list", "create", "update"]) {
    const r = row(name, top)
    if (r === undefined) continue
    targets.push({
      name: `${name} at ${top} connections, share of the ceiling`,
      value: `${(r.ratio * 100).toFixed(0)}%`,
      limit: ">= 50%",
      met: r.ratio >= 0.5
    })
  }
  for (const name of ["read", "list"]) {
    for (const connections of settings.connections) {
      const r = row(name, connections)
      if (r === undefined) continue
      targets.push({
        name: `${name} at ${connections} connections, p99`,
        value: `${Report.ms(r.server.p99Ms)} ms`,
        limit: "<= 25 ms",
        met: r.server.p99Ms <= 25
      })
    }
  }
  if (rows.length > 0) {
    const errors = rows.reduce((sum, r) => sum + r.server.errors, 0)
    targets.push({ name: "errors in every workload", value: String(errors), limit: "0", met: errors === 0 })
  }
  for (const connections of settings.connections) {
    const mcp = row("mcp todo_list", connections)
    const rest = row("list", connections)
    if (mcp === undefined || rest === undefined) continue
    const share = mcp.server.requestsPerSecond / rest.server.requestsPerSecond
    targets.push({
      name: `MCP todo_list at ${connections} connections, share of REST list req/s`,
      value: `${(share * 100).toFixed(0)}%`,
      limit: ">= 50%",
      met: share >= 0.5
    })
  }
  const smallest = scaled[0]
  const largest = scaled.at(-1)
  if (smallest !== undefined && largest !== undefined && largest !== smallest) {
    const factor = largest.server.p50Ms / smallest.server.p50Ms
    targets.push({
      name: `list first page p50 at ${largest.tasks} tasks vs ${smallest.tasks}`,
      value: `${factor.toFixed(2)}x (${Report.ms(largest.server.p50Ms)} vs ${Report.ms(smallest.server.p50Ms)} ms)`,
      limit: "<= 1.5x",
      met: factor <= 1.5
    })
  }
  if (embedded !== undefined) {
    targets.push(
      {
        name: "embedded start on existing data, to /ready",
        value: `${Report.ms(embedded.existing.readyMs)} ms`,
        limit: "<= 2500 ms",
        met: embedded.existing.readyMs <= 2500
      },
      {
        name: "embedded fresh start shows progress and finishes",
        value: `${embedded.fresh.output.length} line(s) before ready, ready at ${Report.ms(embedded.fresh.readyMs)} ms`,
        limit: "progress shown, ready",
        met: embedded.fresh.output.length > 0 && Number.isFinite(embedded.fresh.readyMs)
      },
      {
        name: "embedded server RSS after load",
        value: Report.mb(embedded.rssAfterLoadBytes),
        limit: "<= 200 MB",
        met: embedded.rssAfterLoadBytes !== undefined && embedded.rssAfterLoadBytes <= 200 * 2 ** 20
      }
    )
  }
  return targets
}

const main = async () => {
  const bin = settings.serverBin ?? ServerProcess.BIN
  if (!Fs.existsSync(bin)) {
    throw new Error(`${bin} is missing: build first (npx tsc -b), or run npm run bench`)
  }
  const wantsPostgres = settings.parts.has("throughput") || settings.parts.has("scaling")
  let rows: Array<Report.ThroughputRow> = []
  let scaled: Array<Report.ScalingRow> = []
  if (wantsPostgres && settings.databaseUrl === undefined) {
    const why =
      "Throughput and scaling skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a Postgres server. " +
      "They are not run on the embedded PGlite: it is one single-connection database inside the server " +
      "process, so its figures would measure neither the deployment they stand for nor a comparable ceiling."
    notes.push(why)
    progress(why)
  } else if (wantsPostgres && settings.databaseUrl !== undefined) {
    notes.push(
      `Postgres ${describeDatabase(settings.databaseUrl)} (from ${settings.databaseSource}), pool ${settings.poolSize}; ` +
        `${settings.durationSeconds} s per run after ${settings.warmupSeconds} s of warm-up; ` +
        `${USERS} users x ${TASKS_PER_USER} tasks, each request with one of their tokens in turn`
    )
    ;({ rows, scaled } = await postgresParts(settings.databaseUrl))
  }
  const embeddedFigures = settings.parts.has("embedded") ? await embedded() : undefined
  const pendingRows: Array<Report.PendingRow> = [...pending(), ...pendingScaling].map((w) => ({
    workload: w.name,
    description: w.description,
    reason: w.reason
  }))
  const results: Report.Results = {
    date: new Date().toISOString(),
    commit: Report.commit(),
    ...Report.machine(),
    settings: {
      durationSeconds: settings.durationSeconds,
      warmupSeconds: settings.warmupSeconds,
      connections: settings.connections,
      poolSize: settings.poolSize,
      server: settings.serverBin ?? "this tree",
      database: settings.databaseUrl === undefined ? "none" : describeDatabase(settings.databaseUrl),
      workloads: workloads.map((w) => ({ name: w.name, description: w.description, kind: w.kind })),
      listQuery: firstPage(50)
    },
    notes,
    throughput: rows,
    pending: pendingRows,
    scaling: scaled,
    embedded: embeddedFigures,
    targets: targetsOf(rows, scaled, embeddedFigures)
  }
  process.stdout.write(`\n${Report.format(results)}\n`)
  const file = Report.write(results)
  process.stdout.write(`\nFigures written to ${Path.relative(process.cwd(), file)}\n`)
}

main()
  .catch((error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`
    )
    process.exitCode = 1
  })
  .finally(() => Fs.rmSync(work, { recursive: true, force: true }))
