/**
 * Runs the built `taskport serve` as a separate process, configured as in production (warn
 * logging, a configured signing secret, a Postgres URL when given), so that what is measured
 * is the program users deploy and not an in-process shortcut; and the Fastify peer
 * (bench/peer/server.ts) the same way, beside it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"

export const BIN = fileURLToPath(new URL("../packages/server/dist/bin.js", import.meta.url))
const PEER = fileURLToPath(new URL("./peer/server.ts", import.meta.url))
const ROOT = fileURLToPath(new URL("..", import.meta.url))

export interface StartOptions {
  /** Working directory, so that no developer `.env` leaks into the measurement. */
  readonly cwd: string
  readonly dataDir: string
  readonly secret: string
  readonly databaseUrl?: string | undefined
  readonly poolSize?: number | undefined
  /** Run under `node --cpu-prof`, writing the profile into this directory on exit. */
  readonly cpuProfileDir?: string | undefined
  /** The `bin.js` to run (default: this tree's build). */
  readonly bin?: string | undefined
  /** Worker processes (WEB_CONCURRENCY); one process when unset. */
  readonly workers?: number | undefined
  /** More variables, such as OPENAI_BASE_URL for the chat workloads' model. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** A command the server runs under, such as `valgrind --tool=callgrind`. */
  readonly under?: ReadonlyArray<string> | undefined
  /**
   * Start it as a user does, with `npm start` in the repository (which checks the build
   * first), instead of running `bin.js` directly. `cwd` is then the repository's.
   */
  readonly npmStart?: boolean | undefined
}

export interface OutputLine {
  /** Milliseconds since the process was spawned. */
  readonly at: number
  readonly text: string
}

export interface RunningServer {
  readonly child: ChildProcess
  /**
   * The server's own process (under `npm start`, the node process npm started); with workers,
   * their primary, whose descendants `cpuMicros` counts with it.
   */
  readonly pid: number
  readonly base: string
  /** When the process was spawned (performance.now()). */
  readonly spawnedAt: number
  readonly output: () => ReadonlyArray<OutputLine>
  /** Stops with SIGTERM (SIGKILL after a grace period) and resolves with the exit code. */
  readonly stop: () => Promise<number | null>
}

/** What every measured server starts with: no developer settings, production mode, a free loopback port. */
const productionEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE_ENV: "production",
  PORT: "0",
  HOST: "127.0.0.1"
})

/** Starts the server and resolves once it announces the address it listens on. */
export const start = (options: StartOptions): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...productionEnv(),
      LOG_LEVEL: "warn",
      // Limits stay on, so their cost is part of every measurement, but far above any load.
      RATE_LIMIT_PER_MINUTE: "100000000",
      CHAT_RATE_LIMIT_PER_MINUTE: "100000000",
      AUTH_FAILURE_RATE_LIMIT_PER_MINUTE: "100000000",
      TASKPORT_DATA_DIR: options.dataDir,
      BETTER_AUTH_SECRET: options.secret,
      ...(options.databaseUrl === undefined ? {} : { DATABASE_URL: options.databaseUrl }),
      ...(options.poolSize === undefined ? {} : { DATABASE_POOL_SIZE: String(options.poolSize) }),
      ...(options.workers === undefined ? {} : { WEB_CONCURRENCY: String(options.workers) }),
      ...options.env
    }
    const bin = options.bin ?? BIN
    const args =
      options.cpuProfileDir === undefined
        ? [bin, "serve"]
        : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`, bin, "serve"]
    // Under npm the server is a grandchild; its own process group lets a stop reach it.
    const spawned = options.npmStart
      ? () => spawn("npm", ["start"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true })
      : () => {
          const [command, ...rest] = [...(options.under ?? []), process.execPath, ...args]
          return spawn(command!, rest, { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] })
        }
    watch("taskport serve", spawned, options.npmStart === true, resolve, reject)
  })

export interface PeerOptions {
  readonly secret: string
  readonly databaseUrl: string
  /** The schema holding the benchmark's tables (the connection's search_path). */
  readonly schema: string
  readonly poolSize: number
  readonly workers: number
  /** Run under `node --cpu-prof`, writing the profile into this directory on exit. */
  readonly cpuProfileDir?: string | undefined
}

/** Starts the Fastify peer and resolves once it announces the address it listens on. */
export const startPeer = (options: PeerOptions): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...productionEnv(),
      BETTER_AUTH_SECRET: options.secret,
      PEER_DATABASE_URL: options.databaseUrl,
      PEER_SCHEMA: options.schema,
      PEER_POOL_SIZE: String(options.poolSize),
      PEER_WORKERS: String(options.workers)
    }
    const args =
      options.cpuProfileDir === undefined
        ? [PEER]
        : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`, PEER]
    const spawned = () => spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    watch("the peer", spawned, false, resolve, reject)
  })

/** Spawns a server and resolves with it once it prints "listening on <url>". */
const watch = (
  name: string,
  spawned: () => ChildProcess,
  npmStart: boolean,
  resolve: (server: RunningServer) => void,
  reject: (error: Error) => void
) => {
  const spawnedAt = performance.now()
  const child = spawned()
  const lines: Array<OutputLine> = []
  let pending = ""
  let announced = false
  const onData = (chunk: Buffer) => {
    pending += chunk.toString()
    const parts = pending.split("\n")
    pending = parts.pop() ?? ""
    for (const text of parts) {
      lines.push({ at: performance.now() - spawnedAt, text })
      const base = /listening on (http:\/\/\S+)/.exec(text)?.[1]
      if (base !== undefined && !announced) {
        announced = true
        resolve({
          child,
          pid: npmStart ? serverUnder(child.pid ?? -1) : (child.pid ?? -1),
          base,
          spawnedAt,
          output: () => lines,
          stop: () => stop(child, npmStart)
        })
      }
    }
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", onData)
  child.on("exit", (code) => {
    if (!announced) {
      reject(
        new Error(
          `${name} exited with ${code} before listening:\n${lines.map((l) => l.text).join("\n")}${pending}`
        )
      )
    }
  })
}

const stop = (child: ChildProcess, group: boolean): Promise<number | null> => {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  const signal = (name: NodeJS.Signals) => {
    if (group && child.pid !== undefined) process.kill(-child.pid, name)
    else child.kill(name)
  }
  return new Promise((resolve) => {
    const kill = setTimeout(() => signal("SIGKILL"), 15_000)
    child.once("exit", (code) => {
      clearTimeout(kill)
      resolve(code)
    })
    signal("SIGTERM")
  })
}

/** The `bin.js serve` process among the descendants of `root` (npm, then a shell, then node). */
const serverUnder = (root: number): number => {
  const parents = parentsOfAll()
  const descends = (pid: number): boolean => {
    for (let at = parents.get(pid); at !== undefined && at > 1; at = parents.get(at))
      if (at === root) return true
    return false
  }
  for (const pid of parents.keys()) {
    if (!descends(pid)) continue
    try {
      if (/bin\.js\0serve/.test(Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"))) return pid
    } catch {
      // The process ended meanwhile.
    }
  }
  throw new Error(`no taskport serve process was found under npm start (pid ${root})`)
}

/** Resident set size of a process in bytes, read from /proc (undefined where there is none). */
export const rssBytes = (pid: number): number | undefined => {
  try {
    const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
    return kib === undefined ? undefined : Number(kib) * 1024
  } catch {
    return undefined
  }
}

let clockTicks: number | undefined

/** The parent of every process, from /proc. */
const parentsOfAll = (): Map<number, number> => {
  const parents = new Map<number, number>()
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = Fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]))
    } catch {
      // The process ended meanwhile.
    }
  }
  return parents
}

/** `root` and every process below it (a primary's workers). */
const treeOf = (root: number): Array<number> => {
  const children = new Map<number, Array<number>>()
  for (const [pid, parent] of parentsOfAll()) children.set(parent, [...(children.get(parent) ?? []), pid])
  const tree = [root]
  for (let at = 0; at < tree.length; at++) tree.push(...(children.get(tree[at]!) ?? []))
  return tree
}

/** User and system time from a process's or a thread's `stat` file, in microseconds. */
const statCpuMicros = (path: string): number | undefined => {
  try {
    clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
    // The command name (field 2) may hold spaces, so count fields from after its parenthesis.
    const stat = Fs.readFileSync(path, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks / clockTicks) * 1e6
  } catch {
    return undefined
  }
}

export interface CpuReading {
  /** Every thread of every process. */
  readonly total: number
  /**
   * The main thread of each process, where requests run; the rest is the helper threads'
   * (garbage collection and compilation, mostly), which work when V8 decides.
   */
  readonly mainThread: number
}

/**
 * CPU time a process and the processes below it (a primary's workers) have used so far (user
 * and system), in microseconds, from /proc, read in one pass so both figures are of the same
 * moment. Unlike throughput it hardly moves when other programs compete for the cores, which
 * makes it the figure to compare two versions by on a shared machine. A worker that ended
 * between two readings takes its time with it; none does during a measured run.
 */
export const cpuMicros = (pid: number): CpuReading | undefined => {
  let total = 0
  let mainThread = 0
  for (const [index, member] of treeOf(pid).entries()) {
    const own = statCpuMicros(`/proc/${member}/stat`)
    // A process's main thread has the process's own id.
    const main = statCpuMicros(`/proc/${member}/task/${member}/stat`)
    if (index === 0 && (own === undefined || main === undefined)) return undefined
    total += own ?? 0
    mainThread += main ?? 0
  }
  return { total, mainThread }
}

/** Polls `url` until it answers 200 and returns the time since `since` in milliseconds. */
export const firstOk = async (url: string, since: number, timeoutMs = 120_000): Promise<number> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      const response = await fetch(url)
      await response.arrayBuffer()
      if (response.status === 200) return performance.now() - since
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
