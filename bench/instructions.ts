/**
 * Instructions per request, counted by valgrind's callgrind inside the server: unlike CPU
 * time, the count barely moves between runs on a shared or throttled machine, so a change
 * of a few percent on the request path shows in one run of each build. It counts the
 * server's own instructions only (not the kernel's socket work, nor cache misses or garbage
 * collection under concurrency), so it complements `npm run bench` rather than replacing it.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/taskport_bench node bench/instructions.ts
 *
 * One user with 20 tasks (the benchmark's fixture); each workload is sent
 * `BENCH_WARMUP_REQUESTS` times (default 1,000) to warm up, so that what is counted is the
 * optimised code a loaded server runs; then the server collects its garbage, and the workload
 * is sent `BENCH_REQUESTS` times (default 100) one after another while counted.
 * `BENCH_WORKLOADS` counts only the workloads it names (e.g. `list,mcp todo_list`), and
 * `BENCH_SERVER_BIN` measures another build. Needs valgrind; the server starts in a minute
 * or two under it, and a whole run takes some minutes.
 */
import { execFileSync } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { TokenMinter } from "@taskport/auth"
import { freePort } from "@taskport/test-support/FreePort"
import { Effect, Redacted } from "effect"
import * as Database from "./Database.ts"
import * as ServerProcess from "./ServerProcess.ts"
import * as Settings from "./Settings.ts"
import { type BenchUser, type MeasuredWorkload, workloads } from "./Workloads.ts"

const settings = Settings.read()
const url = settings.databaseUrl
if (url === undefined) {
  console.error("Set BENCH_DATABASE_URL to a Postgres database (a schema of its own is made and dropped).")
  process.exit(2)
}
try {
  execFileSync("valgrind", ["--version"], { stdio: "ignore" })
} catch {
  console.error("valgrind is not installed (Debian: apt-get install valgrind).")
  process.exit(2)
}

const requests = settings.requests
const MEASURED = ["list", "read", "create", "update", "mcp todo_list", "mcp todo_list (2025)"]
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-instructions-"))
const secret = Crypto.randomBytes(48).toString("base64url")
// valgrind names its control pipes after HOST, which the server's environment sets.
const control: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, HOST: "127.0.0.1" }

/**
 * Only the main thread is counted, where requests run. V8 compiles optimised code and helps
 * the collector on threads of its own, whenever it decides to: counted with them, the same
 * build's MCP listing came out at 5.3 M in one run and 8.1 to 8.9 M in three others.
 */
const THREAD_SUFFIX = "-01"

/** Zeroes the counters, or dumps them and returns the main thread's instructions since. */
const callgrind = (pid: number, command: "-z" | "-d"): number => {
  execFileSync("callgrind_control", [command, String(pid)], { env: control, stdio: "ignore" })
  if (command === "-z") return 0
  // Each thread dumps a file of its own (callgrind.out.<pid>.<dump>-<thread>); 01 is the main one.
  const dumps = Fs.readdirSync(dir)
    .filter((name) => name.startsWith(`callgrind.out.${pid}.`) && name.endsWith(THREAD_SUFFIX))
    .map((name) => Path.join(dir, name))
    .sort((a, b) => Fs.statSync(a).mtimeMs - Fs.statSync(b).mtimeMs)
  const text = Fs.readFileSync(dumps.at(-1) ?? "", "utf8")
  return Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1] ?? Number.NaN)
}

/**
 * Has the server's V8 collect all its garbage, through its inspector. A full collection of a
 * heap grown by thousands of requests can cost as much as dozens of them, and whether one falls
 * inside a counted batch moved a workload's figure by up to three times; starting each batch
 * on a collected heap leaves them out, so the count is the requests' own work.
 */
const collectGarbage = async (inspectorPort: number): Promise<void> => {
  const targets = (await (
    await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)
  ).json()) as ReadonlyArray<{
    readonly webSocketDebuggerUrl: string
  }>
  const target = targets[0]
  if (target === undefined) throw new Error("the server's inspector lists no target")
  const socket = new WebSocket(target.webSocketDebuggerUrl)
  try {
    await new Promise<void>((resolve, reject) => {
      socket.onerror = () => reject(new Error("the server's inspector refused the connection"))
      socket.onopen = () => {
        socket.onmessage = (event) => {
          if ((JSON.parse(String(event.data)) as { id?: number }).id === 1) resolve()
        }
        socket.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }))
      }
    })
  } finally {
    socket.close()
  }
}

const send = async (base: string, workload: MeasuredWorkload, user: BenchUser, index: number) => {
  const targets = workload.targets([user])
  const request = workload.request(targets[index % targets.length]!, user, index)
  const response = await fetch(base + request.path, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body })
  })
  const body = await response.text()
  if (response.status !== workload.expect.status || workload.accept?.(body) === false) {
    throw new Error(`${workload.name}: ${response.status} ${body.slice(0, 200)}`)
  }
}

const main = async () => {
  await Effect.runPromise(Database.resetSchema(url))
  console.error("starting the server under callgrind...")
  const inspectorPort = await freePort()
  const server = await ServerProcess.start({
    cwd: dir,
    dataDir: dir,
    secret,
    databaseUrl: Database.urlWithSchema(url),
    bin: settings.serverBin,
    env: { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}` },
    under: [
      "valgrind",
      "--tool=callgrind",
      "--separate-threads=yes",
      `--callgrind-out-file=${dir}/callgrind.out.%p`
    ]
  })
  const figures: Array<{ readonly workload: string; readonly instructions: number }> = []
  try {
    const seeded = await Effect.runPromise(Database.seed(1, 20).pipe(Effect.provide(Database.client(url, 1))))
    const id = Database.userName(0)
    const token = await TokenMinter.mintToken({
      secret: Redacted.make(secret),
      subject: id,
      ttlSeconds: 3600
    })
    const user: BenchUser = { id, token, taskIds: seeded.get(id) ?? [], conversations: [] }
    for (const workload of workloads) {
      if (workload.kind !== "measured" || !MEASURED.includes(workload.name)) continue
      if (settings.workloads.size > 0 && !settings.workloads.has(workload.name)) continue
      for (let index = 0; index < settings.warmupRequests; index++)
        await send(server.base, workload, user, index)
      await collectGarbage(inspectorPort)
      callgrind(server.pid, "-z")
      for (let index = 0; index < requests; index++) await send(server.base, workload, user, index)
      figures.push({ workload: workload.name, instructions: callgrind(server.pid, "-d") / requests })
    }
  } finally {
    await server.stop()
    await Effect.runPromise(Database.dropSchema(url))
    Fs.rmSync(dir, { recursive: true, force: true })
  }
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim()
  console.log(
    `Instructions per request (callgrind), ${requests} sequential requests each after ${settings.warmupRequests} to warm up, ${settings.serverBin ?? `commit ${commit}`}`
  )
  for (const { workload, instructions } of figures) {
    console.log(`${workload.padEnd(22)} ${(instructions / 1e6).toFixed(3).padStart(8)} M`)
  }
  const results = Path.join(import.meta.dirname, "results")
  Fs.mkdirSync(results, { recursive: true })
  const file = Path.join(results, "instructions-latest.json")
  Fs.writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), commit, bin: settings.serverBin ?? null, requests, warmupRequests: settings.warmupRequests, figures }, null, 2)}\n`
  )
  console.log(`Written: ${Path.relative(process.cwd(), file)}`)
}

await main()
