/**
 * `npm run bench`: measures the built `taskport serve` as a separate process and prints one
 * table with the figures and the targets they are held to.
 *
 * - Throughput: each workload of Workloads.ts at each connection count, after a warm-up,
 *   driven by autocannon from this process against a server on the Postgres named by
 *   BENCH_DATABASE_URL (or TEST_DATABASE_URL), next to its ceiling: the same SQL through
 *   the same client at the same concurrency without the server (Ceiling.ts). Chat turns
 *   continue seeded conversations, with the server's model pointed at an instant scripted
 *   one served from this process (InstantModel.ts); they have no ceiling. The REST workloads
 *   also run, right after, on the Fastify peer (peer/server.ts), and again with every core:
 *   Taskport with WEB_CONCURRENCY workers, the peer with as many cluster workers.
 * - Scaling: first-page latency for one user holding more and more tasks, and chat-turn
 *   latency in conversations already holding 10 and 300 messages.
 * - Embedded: start-up time on a fresh and on an existing PGlite data directory, and the
 *   server's memory after a load.
 *
 * Settings come from the environment (Settings.ts): BENCH_DURATION=3 BENCH_WARMUP=1 gives a
 * quick look; BENCH_CPU_PROF=<dir> profiles the server of the throughput part (and the peer,
 * in <dir>/peer); BENCH_PEER=0 leaves the peer (and the chart, Chart.ts) out.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { createHistogram } from "node:perf_hooks"
import { TokenMinter } from "@taskport/auth"
import { Effect, ManagedRuntime, Redacted } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import { bind, measure as measureCeiling } from "./Ceiling.ts"
import * as Database from "./Database.ts"
import * as InstantModel from "./InstantModel.ts"
import { drive, type LoadRequest, type Measurement } from "./Load.ts"
import * as Report from "./Report.ts"
import * as ServerProcess from "./ServerProcess.ts"
import * as Settings from "./Settings.ts"
import {
  type BenchUser,
  captureCeiling,
  chatCompleted,
  chatRequest,
  firstPage,
  type MeasuredWorkload,
  measured,
  pending,
  workloads
} from "./Workloads.ts"

const USERS = 100
const TASKS_PER_USER = 20
const SCALING_USER = "bench-scale"
const EMBEDDED_USERS = 10
/**
 * Chat turns of the throughput part continue these conversations, each seeded with
 * CHAT_HISTORY messages and put back to them after every run. There are enough of them
 * (1,000) that a run at the chat's pace gives each only a turn or two, so the history a turn
 * loads stays close to the seeded length rather than growing through the run.
 */
const CHAT_CONVERSATIONS_PER_USER = 10
const CHAT_HISTORY = 10
const CHAT_SCALING_USER = "bench-chat"
/**
 * Turns per chat scaling point, per second of BENCH_DURATION (500 by default): each turn has
 * a conversation of its own, seeded at the point's length, so the count is fixed in advance
 * rather than set by a duration.
 */
const CHAT_SCALING_TURNS_PER_SECOND = 50
const CHAT_SCALING_ROUNDS = 5
/**
 * Turns run before chat turns are measured, per second of BENCH_WARMUP, on top of the usual
 * warm-up: a turn runs a great deal of code (model client, agent loop, six statements), and
 * on a fresh server the first thousand or so take up to twice the CPU time of later ones,
 * far longer a warm-up than any other workload needs.
 */
const CHAT_SERVER_WARMUP_TURNS_PER_SECOND = 500

/**
 * What a chat turn cost the server at the start of the round that set its target (commit
 * 87d1e21, 14,171 µs per turn at 50 connections on the reference machine; see
 * docs/performance.md). The target is half of it. A machine of another speed needs its own
 * figure for that commit, measured beside this build: BENCH_CHAT_BASELINE_US.
 */
const REFERENCE_CHAT_TURN_CPU_US = 14_171

const settings = Settings.read()
const chatBaselineUs = settings.chatBaselineUs ?? REFERENCE_CHAT_TURN_CPU_US
const chatBaselineSource =
  settings.chatBaselineUs === undefined
    ? "87d1e21 on the reference machine"
    : "87d1e21 here, BENCH_CHAT_BASELINE_US"
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

/**
 * The peer stands for the same work only if it answers the same: for the reads, the same
 * JSON (columns, rendering, order) as Taskport for a few of the requests.
 */
const samePeerAnswer = async (
  taskport: ServerProcess.RunningServer,
  peer: ServerProcess.RunningServer,
  requests: ReadonlyArray<LoadRequest>
) => {
  for (const request of requests.slice(0, 3)) {
    const [ours, theirs] = await Promise.all(
      [taskport, peer].map(async (server) => {
        const response = await fetch(`${server.base}${request.path}`, { headers: { ...request.headers } })
        return JSON.stringify(await response.json())
      })
    )
    if (ours !== theirs) {
      throw new Error(`the peer answers GET ${request.path} otherwise than Taskport:\n  ${ours}\n  ${theirs}`)
    }
  }
}

type Runtime = ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, SqlError.SqlError>

/** Chat turns at 10 connections until the server has settled (see CHAT_SERVER_WARMUP_TURNS_PER_SECOND). */
const warmChat = (base: string, requests: ReadonlyArray<LoadRequest>) =>
  drive({
    base,
    requests,
    connections: 10,
    durationSeconds: settings.warmupSeconds,
    amount: Math.round(settings.warmupSeconds * CHAT_SERVER_WARMUP_TURNS_PER_SECOND)
  })

/** The server's CPU time per request over a load, which `measure` runs. */
const withCpu = async (pid: number, measure: () => Promise<Measurement>): Promise<Measurement> => {
  const before = ServerProcess.cpuMicros(pid)
  const measuredLoad = await measure()
  const after = ServerProcess.cpuMicros(pid)
  const perRequest = (of: keyof ServerProcess.CpuReading) =>
    before === undefined || after === undefined || measuredLoad.requests === 0
      ? undefined
      : (after[of] - before[of]) / measuredLoad.requests
  return {
    ...measuredLoad,
    cpuPerRequestUs: perRequest("total"),
    mainThreadCpuPerRequestUs: perRequest("mainThread")
  }
}

/** The REST workloads the Fastify peer serves too, and which the multi-process runs repeat. */
const PEER_WORKLOADS: ReadonlySet<string> = new Set(["list", "read", "create", "update"])

/** Taskport and, unless BENCH_PEER=0, the peer beside it, each with `workers` processes. */
interface Servers {
  readonly taskport: ServerProcess.RunningServer
  readonly peer: ServerProcess.RunningServer | undefined
  readonly workers: number
}

const throughput = async (
  servers: Servers,
  runtime: Runtime,
  model: InstantModel.InstantModel,
  users: ReadonlyArray<BenchUser>,
  options: { readonly workloads: ReadonlyArray<MeasuredWorkload>; readonly ceiling: boolean }
): Promise<Array<Report.ThroughputRow>> => {
  const { taskport, peer, workers } = servers
  const byId = new Map(users.map((user) => [user.id, user]))
  const rows: Array<Report.ThroughputRow> = []
  const label = workers === 1 ? "" : ` (${workers} workers)`
  for (const workload of options.workloads) {
    const statement = options.ceiling ? await captureCeiling(workload) : undefined
    const targets = workload.targets(users)
    const requests = targets.map((target, index) => workload.request(target, byId.get(target.owner)!, index))
    const withPeer = peer !== undefined && PEER_WORKLOADS.has(workload.name) ? peer : undefined
    for (const server of withPeer === undefined ? [taskport] : [taskport, withPeer]) {
      await preflight(server.base, workload, requests[0]!).catch((error: unknown) => {
        // With what the server logged, which says why far better than the answer may.
        const log = server
          .output()
          .slice(-10)
          .map((line) => `  ${line.text}`)
        throw new Error([error instanceof Error ? error.message : String(error), ...log].join("\n"))
      })
    }
    if (withPeer !== undefined && requests[0]!.method === "GET")
      await samePeerAnswer(taskport, withPeer, requests)
    const cleanup = () => {
      switch (workload.restore) {
        case "created tasks":
          return runtime.runPromise(Database.removeCreated)
        case "conversations":
          return runtime.runPromise(Database.resetConversations(CHAT_HISTORY))
        case "nothing":
          return Promise.resolve()
      }
    }
    const chat = workload.restore === "conversations"
    if (chat) {
      progress(`${workload.name}: warming the server up...`)
      await warmChat(taskport.base, requests)
    }
    await cleanup()
    for (const connections of settings.connections) {
      const load = (base: string, durationSeconds: number) =>
        drive({ base, requests, connections, durationSeconds, accept: workload.accept })
      // Turns still in flight when a load stops go on in the server; resetting the
      // conversations under them would make their next append collide.
      const settle = () => (chat ? model.settled() : Promise.resolve())
      progress(`${workload.name} at ${connections} connections${label}: server...`)
      await load(taskport.base, settings.warmupSeconds)
      await settle()
      // A chat turn's cost follows the length of its conversation, which the warm-up's turns
      // grew: the measured run starts again from the seeded length.
      if (chat) await cleanup()
      model.reset()
      const server = await withCpu(taskport.pid, () => load(taskport.base, settings.durationSeconds))
      const modelStats = chat ? model.stats() : undefined
      await settle()
      await cleanup()
      // The peer right after, with the same requests, so both meet the machine in the same mood.
      let peerRun: Measurement | undefined
      if (withPeer !== undefined) {
        progress(`${workload.name} at ${connections} connections${label}: peer...`)
        await load(withPeer.base, settings.warmupSeconds)
        peerRun = await withCpu(withPeer.pid, () => load(withPeer.base, settings.durationSeconds))
        await cleanup()
      }
      let direct: Measurement | undefined
      if (statement !== undefined) {
        const ceiling = (seconds: number) =>
          runtime.runPromise(measureCeiling(statement, targets, connections, seconds * 1000))
        progress(`${workload.name} at ${connections} connections: ceiling...`)
        await ceiling(settings.warmupSeconds)
        direct = await ceiling(settings.durationSeconds)
        await cleanup()
      }
      rows.push({
        workload: workload.name,
        description: workload.description,
        workers,
        connections,
        server,
        ceiling: direct,
        ratio: direct === undefined ? undefined : server.requestsPerSecond / direct.requestsPerSecond,
        peer: peerRun,
        model: modelStats
      })
    }
  }
  return rows
}

const scaling = async (base: string, runtime: Runtime): Promise<Array<Report.ScalingRow>> => {
  const list = workloads.find((w): w is MeasuredWorkload => w.kind === "measured" && w.name === "list")!
  const statement = await captureCeiling(list)
  if (statement === undefined) throw new Error("the list workload has no ceiling statement to explain")
  const token = await tokenFor(SCALING_USER)
  const user: BenchUser = { id: SCALING_USER, token, taskIds: [], conversations: [] }
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

/**
 * One chat turn at a time in conversations already holding each of `settings.chatSizes`
 * messages. Every turn gets a conversation of its own, seeded at its point's length (a turn
 * adds two messages, so reusing one would lengthen it as the run goes), which is why a point
 * is a number of turns rather than a duration. The points take turns in CHAT_SCALING_ROUNDS
 * rounds and each pools its rounds, so that a slow spell of a shared machine falls on every
 * point alike instead of on whichever ran then. Each point has a user of its own with 20
 * tasks, as many as a throughput user, so todo_list answers a page of the same size everywhere.
 */
const chatScaling = async (
  base: string,
  pid: number,
  runtime: Runtime,
  model: InstantModel.InstantModel
): Promise<Array<Report.ChatScalingRow>> => {
  const turns = Math.max(
    CHAT_SCALING_ROUNDS,
    Math.round(settings.durationSeconds * CHAT_SCALING_TURNS_PER_SECOND)
  )
  const chatUser = async (id: string, conversations: number, messages: number): Promise<BenchUser> => {
    await runtime.runPromise(Database.removeChatUser(id))
    await runtime.runPromise(Database.fillUser(id, TASKS_PER_USER))
    const seeded = await runtime.runPromise(Database.seedConversations([id], conversations, messages))
    return { id, token: await tokenFor(id), taskIds: [], conversations: seeded.get(id) ?? [] }
  }
  const turnsOf = (user: BenchUser) =>
    user.conversations.map((conversation) => chatRequest(user, conversation))

  progress(
    `chat turn: seeding ${turns} conversations for each of ${settings.chatSizes.join(", ")} messages...`
  )
  const spare = await chatUser(`${CHAT_SCALING_USER}-warmup`, 100, CHAT_HISTORY)
  const points = []
  for (const [index, messages] of settings.chatSizes.entries()) {
    const user = await chatUser(`${CHAT_SCALING_USER}-${index}`, turns, messages)
    points.push({
      messages,
      user,
      requests: turnsOf(user),
      histogram: createHistogram(),
      runs: [] as Array<Measurement>,
      model: [] as Array<InstantModel.ModelStats>
    })
  }
  progress("chat turn: warming the server up...")
  await warmChat(base, turnsOf(spare))
  for (let round = 0; round < CHAT_SCALING_ROUNDS; round++) {
    progress(`chat turn scaling, round ${round + 1} of ${CHAT_SCALING_ROUNDS}...`)
    for (const point of points) {
      const slice = point.requests.slice(
        Math.floor((round * turns) / CHAT_SCALING_ROUNDS),
        Math.floor(((round + 1) * turns) / CHAT_SCALING_ROUNDS)
      )
      model.reset()
      const run = await withCpu(pid, () =>
        drive({
          base,
          requests: slice,
          connections: 1,
          durationSeconds: settings.durationSeconds,
          amount: slice.length,
          accept: chatCompleted,
          pool: point.histogram
        })
      )
      point.runs.push(run)
      point.model.push(model.stats())
    }
  }
  for (const user of [spare, ...points.map((point) => point.user)]) {
    await runtime.runPromise(Database.removeChatUser(user.id))
  }
  return points.map((point) => {
    const requests = point.runs.reduce((sum, run) => sum + run.requests, 0)
    const seconds = point.runs.reduce((sum, run) => sum + run.requests / run.requestsPerSecond, 0)
    // Each run's CPU per request, pooled over the point's runs by their requests.
    const pooled = (of: "cpuPerRequestUs" | "mainThreadCpuPerRequestUs") =>
      requests === 0
        ? undefined
        : point.runs.reduce((sum, run) => sum + (run[of] ?? Number.NaN) * run.requests, 0) / requests
    return {
      messages: point.messages,
      turns: requests,
      server: {
        requests,
        requestsPerSecond: requests / seconds,
        p50Ms: point.histogram.count === 0 ? Number.NaN : point.histogram.percentile(50) / 1000,
        p99Ms: point.histogram.count === 0 ? Number.NaN : point.histogram.percentile(99) / 1000,
        errors: point.runs.reduce((sum, run) => sum + run.errors, 0),
        cpuPerRequestUs: pooled("cpuPerRequestUs"),
        mainThreadCpuPerRequestUs: pooled("mainThreadCpuPerRequestUs")
      },
      model: InstantModel.combine(point.model)
    }
  })
}

const selected = (workload: string) => settings.workloads.size === 0 || settings.workloads.has(workload)

const postgresParts = async (url: string) => {
  progress(`Postgres at ${describeDatabase(url)}, schema ${Database.SCHEMA}`)
  await Effect.runPromise(Database.resetSchema(url))
  // Started first: the server reads OPENAI_BASE_URL once, at start, and then uses the
  // OpenAI-compatible runner for every chat turn, as a deployment with a model would.
  const model = await InstantModel.start()
  // One process profiles into the directory itself; with workers, the primary and each worker
  // (which node:cluster starts with the primary's --cpu-prof) write one file each into
  // `workers-N/`, so a round's files are never mixed with another's.
  const profileDir = (workers: number, server?: "peer"): string | undefined => {
    if (settings.cpuProfileDir === undefined) return undefined
    const base =
      workers === 1 ? settings.cpuProfileDir : Path.join(settings.cpuProfileDir, `workers-${workers}`)
    return server === undefined ? base : Path.join(base, server)
  }
  // The schema is migrated by the first Taskport server, before the seeding and the peer.
  const startServers = async (workers: number): Promise<Servers> => {
    const taskport = await ServerProcess.start({
      cwd: work,
      dataDir: Path.join(work, "data"),
      secret,
      databaseUrl: Database.urlWithSchema(url),
      poolSize: settings.poolSize,
      workers,
      cpuProfileDir: profileDir(workers),
      bin: settings.serverBin,
      env: { OPENAI_BASE_URL: model.baseURL }
    })
    const peer = settings.peer
      ? await ServerProcess.startPeer({
          secret,
          databaseUrl: url,
          schema: Database.SCHEMA,
          poolSize: settings.poolSize,
          workers,
          // Beside Taskport's, so the two profiles can be read side by side.
          cpuProfileDir: profileDir(workers, "peer")
        }).catch(async (error: unknown) => {
          await taskport.stop()
          throw error
        })
      : undefined
    return { taskport, peer, workers }
  }
  const stopServers = async (servers: Servers) => {
    await servers.taskport.stop()
    await servers.peer?.stop()
  }
  const [first = 1, ...more] = settings.workers
  let servers = await startServers(first)
  const runtime: Runtime = ManagedRuntime.make(Database.client(url, settings.poolSize))
  try {
    const byUser = await runtime.runPromise(Database.seed(USERS, TASKS_PER_USER))
    const chat =
      settings.parts.has("throughput") && measured(settings.workloads).some((w) => w.name === "chat turn")
    const conversations = chat
      ? await runtime.runPromise(
          Database.seedConversations([...byUser.keys()], CHAT_CONVERSATIONS_PER_USER, CHAT_HISTORY)
        )
      : new Map<string, ReadonlyArray<string>>()
    const users = await Promise.all(
      [...byUser].map(async ([id, taskIds]) => ({
        id,
        token: await tokenFor(id),
        taskIds,
        conversations: conversations.get(id) ?? []
      }))
    )
    const rows = settings.parts.has("throughput")
      ? await throughput(servers, runtime, model, users, {
          workloads: measured(settings.workloads),
          ceiling: true
        })
      : []
    const { taskport } = servers
    const scalingPart = settings.parts.has("scaling")
    const scaled = scalingPart && selected("list") ? await scaling(taskport.base, runtime) : []
    const chatScaled =
      scalingPart && selected("chat turn")
        ? await chatScaling(taskport.base, taskport.pid, runtime, model)
        : []
    // Every core: the REST workloads again, with Taskport's workers and the peer's.
    const rest = measured(settings.workloads).filter((w) => PEER_WORKLOADS.has(w.name))
    for (const workers of settings.parts.has("throughput") && rest.length > 0 ? more : []) {
      await stopServers(servers)
      progress(`${workers} worker processes each...`)
      servers = await startServers(workers)
      rows.push(...(await throughput(servers, runtime, model, users, { workloads: rest, ceiling: false })))
    }
    return { rows, scaled, chatScaled }
  } finally {
    await stopServers(servers)
    await model.close()
    await runtime.dispose()
    await Effect.runPromise(Database.dropSchema(url))
  }
}

const embedded = async (): Promise<Report.EmbeddedFigures> => {
  const dataDir = Path.join(work, "embedded")
  const startTimed = async () => {
    // Started as a user starts it: `npm start`, unless another build is measured.
    const server = await ServerProcess.start({
      cwd: work,
      dataDir,
      secret,
      bin: settings.serverBin,
      npmStart: settings.serverBin === undefined
    })
    if (!server.output().some((line) => line.text.includes("embedded PGlite"))) {
      await server.stop()
      throw new Error("the embedded server did not start on PGlite: is DATABASE_URL set in a .env file?")
    }
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
      users.push({ id, token, taskIds: [], conversations: [] })
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
  chatScaled: ReadonlyArray<Report.ChatScalingRow>,
  embedded: Report.EmbeddedFigures | undefined
): Array<Report.Target> => {
  const targets: Array<Report.Target> = []
  const top = Math.max(...settings.connections)
  const one = settings.workers[0] ?? 1
  const all = Math.max(...settings.workers)
  const row = (workload: string, connections: number, workers = one) =>
    rows.find((r) => r.workload === workload && r.connections === connections && r.workers === workers)
  for (const name of ["read", "list", "create", "update"]) {
    const r = row(name, top)
    if (r?.ratio === undefined) continue
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
  // With every core, the tail a client sees at 50 connections.
  const busy = settings.connections.includes(50) ? 50 : top
  if (all > 1) {
    for (const name of ["list", "read"]) {
      const r = row(name, busy, all)
      if (r === undefined) continue
      targets.push({
        name: `${name} at ${busy} connections with ${all} workers, p99`,
        value: `${Report.ms(r.server.p99Ms)} ms`,
        limit: "<= 15 ms",
        met: r.server.p99Ms <= 15
      })
    }
  }
  // CPU per request against the peer: the figure least moved by a busy machine.
  for (const workers of settings.workers) {
    for (const name of ["list", "read", "create", "update"]) {
      const r = row(name, top, workers)
      const cpu = r?.server.cpuPerRequestUs
      const peerCpu = r?.peer?.cpuPerRequestUs
      if (cpu === undefined || peerCpu === undefined) continue
      const factor = cpu / peerCpu
      targets.push({
        name: `${name} at ${top} connections, ${workers === 1 ? "one process" : `${workers} workers`}: CPU per request vs the Fastify peer`,
        value: `${factor.toFixed(2)}x (${cpu.toFixed(0)} vs ${peerCpu.toFixed(0)} µs)`,
        limit: "<= 1.0x",
        met: factor <= 1
      })
    }
  }
  if (rows.length > 0) {
    const errors = rows.reduce((sum, r) => sum + r.server.errors + (r.peer?.errors ?? 0), 0)
    targets.push({ name: "errors in every workload", value: String(errors), limit: "0", met: errors === 0 })
  }
  // Per call, by CPU time: dividing two runs' req/s taken at different moments swings with the
  // machine far more than what each call costs.
  for (const connections of settings.connections) {
    const mcp = row("mcp todo_list", connections)
    const rest = row("list", connections)
    const mcpCpu = mcp?.server.cpuPerRequestUs
    const restCpu = rest?.server.cpuPerRequestUs
    if (mcp === undefined || rest === undefined || mcpCpu === undefined || restCpu === undefined) continue
    const share = restCpu / mcpCpu
    const throughputShare = mcp.server.requestsPerSecond / rest.server.requestsPerSecond
    const mcpMain = mcp.server.mainThreadCpuPerRequestUs
    const restMain = rest.server.mainThreadCpuPerRequestUs
    const mainShare =
      mcpMain === undefined || restMain === undefined
        ? ""
        : `; main thread ${((restMain / mcpMain) * 100).toFixed(0)}%`
    targets.push({
      name: `MCP todo_list at ${connections} connections, share of a REST list per call (CPU µs)`,
      value: `${(share * 100).toFixed(0)}% (${restCpu.toFixed(0)} vs ${mcpCpu.toFixed(0)} µs; req/s ${(throughputShare * 100).toFixed(0)}%${mainShare})`,
      limit: ">= 60%",
      met: share >= 0.6
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
  const chat = row("chat turn", 10)
  if (chat !== undefined) {
    targets.push({
      name: "chat turn at 10 connections beside an instant model, p50",
      value: `${Report.ms(chat.server.p50Ms)} ms`,
      limit: "<= 15 ms",
      met: chat.server.p50Ms <= 15
    })
  }
  const chatCpu = (chat ?? row("chat turn", top))?.server.cpuPerRequestUs
  if (chatCpu !== undefined) {
    targets.push({
      name: "chat turn CPU per turn",
      value: `${chatCpu.toFixed(0)} µs`,
      limit: `<= ${Math.round(chatBaselineUs / 2)} µs, half of ${chatBaselineUs} µs for ${chatBaselineSource}`,
      met: chatCpu <= chatBaselineUs / 2
    })
  }
  const shortest = chatScaled[0]
  const longest = chatScaled.at(-1)
  if (shortest !== undefined && longest !== undefined && longest !== shortest) {
    const factor = longest.server.p50Ms / shortest.server.p50Ms
    targets.push({
      name: `chat turn p50 at ${longest.messages} messages vs ${shortest.messages}`,
      value: `${factor.toFixed(2)}x (${Report.ms(longest.server.p50Ms)} vs ${Report.ms(shortest.server.p50Ms)} ms)`,
      limit: "<= 1.2x",
      met: factor <= 1.2
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
  // Written by the web app's build, which `npm run bench` runs first.
  const webSize = Path.join(import.meta.dirname, "../packages/web/build/size.json")
  if (Fs.existsSync(webSize)) {
    const size = JSON.parse(Fs.readFileSync(webSize, "utf8")) as { gzip_bytes: number; budget_bytes: number }
    targets.push({
      name: "web app JS+CSS, gzipped",
      value: `${(size.gzip_bytes / 1024).toFixed(1)} kB`,
      limit: `<= ${(size.budget_bytes / 1024).toFixed(0)} kB`,
      met: size.gzip_bytes <= size.budget_bytes
    })
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
  let chatScaled: Array<Report.ChatScalingRow> = []
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
    ;({ rows, scaled, chatScaled } = await postgresParts(settings.databaseUrl))
  }
  const embeddedFigures = settings.parts.has("embedded") ? await embedded() : undefined
  const pendingRows: Array<Report.PendingRow> = pending().map((w) => ({
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
      workers: settings.workers,
      peer: settings.peer,
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
    chatScaling: chatScaled,
    embedded: embeddedFigures,
    targets: targetsOf(rows, scaled, chatScaled, embeddedFigures)
  }
  process.stdout.write(`\n${Report.format(results)}\n`)
  const files = Report.write(results)
  process.stdout.write(`\nWritten: ${files.map((file) => Path.relative(process.cwd(), file)).join(", ")}\n`)
}

main()
  .catch((error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`
    )
    process.exitCode = 1
  })
  .finally(() => Fs.rmSync(work, { recursive: true, force: true }))
