/**
 * `taskport serve` with WEB_CONCURRENCY above 1: the primary process. It applies the
 * migrations once, forks the workers (each a whole server with its own database pool) onto
 * one listening port shared through node:cluster, replaces a worker that dies, backing off
 * while they keep dying, and when told to stop has every worker drain before it exits.
 *
 * Round-robin in the primary rather than SO_REUSEPORT: the kernel spreads reuse-port
 * connections by a hash of their addresses, so ten long-lived keep-alive connections can
 * land 8 to 2 on two workers, while the primary hands them out in turn (bench/spread.ts,
 * docs/performance.md). It also shares a port chosen by the system (PORT=0), which separate
 * reuse-port sockets cannot.
 */
import Cluster, { type Worker } from "node:cluster"
import { migrate } from "@taskport/postgres"
import { Data, Effect } from "effect"
import type * as Announce from "./Announce.ts"
import * as Authentication from "./Authentication.ts"
import * as Database from "./Database.ts"
import type { ServerConfig } from "./ServerConfig.ts"

/** More than one worker asked for on a database only one process can open. */
export class WorkersRefused extends Data.TaggedError("WorkersRefused")<{ readonly message: string }> {}

/** A worker stopped before the server was serving: it printed why. */
export class WorkerFailed extends Data.TaggedError("WorkerFailed")<{ readonly message: string }> {}

/** What a worker tells its primary once it accepts requests. */
export interface ListeningMessage {
  readonly type: "taskport:listening"
  readonly url: string
}

const isListening = (message: unknown): message is ListeningMessage =>
  typeof message === "object" &&
  message !== null &&
  (message as { type?: unknown }).type === "taskport:listening" &&
  typeof (message as { url?: unknown }).url === "string"

/** Tells the primary this worker is serving at `url`; nothing outside a cluster. */
export const reportListening = (url: string): void => {
  if (Cluster.isWorker && process.send !== undefined) {
    process.send({ type: "taskport:listening", url } satisfies ListeningMessage)
  }
}

/** The first worker speaks for all (database, model, dev token); the others start quietly. */
export const isSpokesman = (): boolean => Cluster.worker?.id === 1

/**
 * How long to wait before replacing a worker that died after `crashes` short-lived workers in
 * a row: 0.1 s, doubling up to 10 s, so a worker that dies at once does not spin the machine.
 */
export const backoffMs = (crashes: number): number => Math.min(10_000, 100 * 2 ** Math.max(0, crashes - 1))

/** A worker that served this long before dying is not part of a crash loop. */
const STABLE_MS = 10_000

/** Longest the workers may take to drain before they are killed (their own grace is 10 s). */
const DRAIN_LIMIT_MS = 30_000

const describeExit = (code: number | null, signal: string | null) =>
  signal !== null ? `was killed by ${signal}` : `exited with code ${code ?? "unknown"}`

export const run = (config: ServerConfig, announce: Announce.Announce) =>
  Effect.gen(function* () {
    const count = config.webConcurrency
    if (Database.choose(config)._tag === "Embedded") {
      return yield* new WorkersRefused({
        message: `WEB_CONCURRENCY=${count} needs Postgres (DATABASE_URL): the embedded PGlite database can be opened by one process only; set WEB_CONCURRENCY=1 or leave it unset`
      })
    }
    // Once, here, before any worker opens the database; the workers skip them.
    yield* migrate.pipe(
      Effect.provide(Database.layer(config, { migrate: false, maxConnections: 1, announce: () => {} }))
    )
    // Created here, so that workers starting together do not race to write it.
    if (Authentication.isDevMode(config)) Authentication.devSecret(config.dataDir)
    return yield* supervise(count, announce)
  }).pipe(Effect.onInterrupt(() => Effect.sync(() => announce("Stopped."))))

const supervise = (count: number, announce: Announce.Announce) =>
  Effect.callback<never, WorkerFailed>((resume) => {
    Cluster.schedulingPolicy = Cluster.SCHED_RR
    const started = new Map<Worker, number>()
    const listening = new Set<Worker>()
    let serving = false
    let stopping = false
    let crashes = 0
    let pending: NodeJS.Timeout | undefined

    const fork = (replacing?: string) => {
      const worker = Cluster.fork()
      started.set(worker, Date.now())
      worker.on("message", (message: unknown) => {
        if (!isListening(message) || listening.has(worker)) return
        listening.add(worker)
        if (replacing !== undefined) {
          announce(`Worker ${worker.process.pid} is serving in place of ${replacing}.`)
        } else if (!serving && listening.size === count) {
          serving = true
          const pids = [...listening].map((w) => w.process.pid).join(", ")
          announce(
            `Taskport is listening on ${message.url} (docs at ${message.url}/docs) with ${count} workers (pids ${pids})`
          )
        }
      })
    }

    const stopAll = () => {
      for (const worker of started.keys()) {
        if (worker.process.exitCode === null && worker.process.signalCode === null)
          worker.process.kill("SIGTERM")
      }
    }

    Cluster.on("exit", (worker, code, signal) => {
      const since = started.get(worker) ?? Date.now()
      started.delete(worker)
      listening.delete(worker)
      const pid = worker.process.pid
      if (stopping) {
        // A worker drains and exits 0; anything else is worth a line.
        if (code !== 0 || signal !== null)
          announce(`Worker ${pid} ${describeExit(code, signal)} while stopping.`)
        return
      }
      if (!serving) {
        // A worker that cannot start (the port taken, the database unreachable) will not start
        // on a second try either: stop as a single server would.
        stopping = true
        stopAll()
        resume(
          Effect.fail(
            new WorkerFailed({
              message: `worker ${pid} ${describeExit(code, signal)} before the server was serving`
            })
          )
        )
        return
      }
      crashes = Date.now() - since >= STABLE_MS ? 1 : crashes + 1
      const delay = backoffMs(crashes)
      announce(`Worker ${pid} ${describeExit(code, signal)}; starting another in ${delay} ms.`)
      pending = setTimeout(() => {
        pending = undefined
        if (!stopping) fork(String(pid))
      }, delay)
    })

    for (let n = 0; n < count; n++) fork()

    // Interrupted (SIGTERM, SIGINT): every worker drains its requests in flight, then exits.
    return Effect.promise(
      () =>
        new Promise<void>((done) => {
          stopping = true
          if (pending !== undefined) clearTimeout(pending)
          announce(`Stopping: ${started.size} workers finishing in-flight requests...`)
          const check = () => {
            if (started.size === 0) {
              clearTimeout(limit)
              done()
            }
          }
          const limit = setTimeout(() => {
            for (const worker of started.keys()) worker.process.kill("SIGKILL")
          }, DRAIN_LIMIT_MS)
          Cluster.on("exit", check)
          stopAll()
          check()
        })
    )
  })
