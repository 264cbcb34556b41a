/**
 * The benchmark's settings, read once from the environment. Defaults are the published
 * configuration (10 s per workload at 10 and 50 connections); the variables exist so that a
 * developer can take a quick look (BENCH_DURATION=3) or rerun one part without the rest.
 */

import * as Os from "node:os"

export type Part = "throughput" | "scaling" | "embedded"

export interface Settings {
  /** The Postgres server to measure on; undefined when only PGlite is available. */
  readonly databaseUrl: string | undefined
  /** Where the URL came from, for the report. */
  readonly databaseSource: "BENCH_DATABASE_URL" | "TEST_DATABASE_URL" | undefined
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly connections: ReadonlyArray<number>
  readonly parts: ReadonlySet<Part>
  /** Workload names to run (all when empty). */
  readonly workloads: ReadonlySet<string>
  readonly scalingSizes: ReadonlyArray<number>
  /** Messages held by the conversations of the chat scaling runs. */
  readonly chatSizes: ReadonlyArray<number>
  /** The server's pool size, also used by the ceiling client so that both queue alike. */
  readonly poolSize: number
  /** When set, the server runs under `node --cpu-prof` and writes its profile here. */
  readonly cpuProfileDir: string | undefined
  /** Another build's bin.js to measure (a worktree of an older commit, say); this one's by default. */
  readonly serverBin: string | undefined
  /** Whether the Fastify peer (bench/peer/server.ts) runs beside Taskport; BENCH_PEER=0 skips it. */
  readonly peer: boolean
  /**
   * Server processes to measure the REST workloads with (WEB_CONCURRENCY for Taskport, cluster
   * workers for the peer): one, then every core. The whole benchmark runs at the first; the
   * others repeat list, read, create and update.
   */
  readonly workers: ReadonlyArray<number>
  /**
   * The round's starting commit's chat turn CPU (µs) on this machine, measured beside this
   * build; the target is half of it. Unset, the reference machine's figure applies.
   */
  readonly chatBaselineUs: number | undefined
  /** Sequential requests per workload that `bench/instructions.ts` counts. */
  readonly requests: number
  /** Requests per workload that `bench/instructions.ts` sends first, uncounted, so V8 has optimised the path. */
  readonly warmupRequests: number
}

// Read by name: the benchmark is run by npm, not by turbo, so none of these is a build input.
const env = (name: string): string | undefined => {
  const value = process.env[name]
  return value === undefined || value === "" ? undefined : value
}

const positive = (name: string, fallback: number): number => {
  const raw = env(name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`)
  return value
}

const list = (name: string): ReadonlyArray<string> =>
  (env(name) ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")

const ALL_PARTS: ReadonlyArray<Part> = ["throughput", "scaling", "embedded"]

// V8 optimises a request path only after many calls: after 30 a list still counted one and a
// half to two times the instructions it settles at by a thousand.
const WARMUP_REQUESTS = 1000

const workerCounts = (): ReadonlyArray<number> => {
  const cores = Os.availableParallelism()
  const named = list("BENCH_WORKERS")
  const counts = (named.length > 0 ? named : ["1", "all"]).map((item) =>
    item === "all" ? cores : Number(item)
  )
  for (const count of counts) {
    if (!Number.isInteger(count) || count < 1) {
      throw new Error(`BENCH_WORKERS must list positive integers or "all", got ${count}`)
    }
  }
  return [...new Set(counts)]
}

export const read = (): Settings => {
  const bench = env("BENCH_DATABASE_URL")
  const test = env("TEST_DATABASE_URL")
  const [databaseUrl, databaseSource] =
    bench !== undefined
      ? [bench, "BENCH_DATABASE_URL" as const]
      : test !== undefined
        ? [test, "TEST_DATABASE_URL" as const]
        : [undefined, undefined]
  const parts = list("BENCH_PARTS")
  for (const part of parts) {
    if (!ALL_PARTS.includes(part as Part)) {
      throw new Error(`BENCH_PARTS names an unknown part "${part}"; use ${ALL_PARTS.join(", ")}`)
    }
  }
  const connections = list("BENCH_CONNECTIONS").map(Number)
  const sizes = list("BENCH_SCALING_SIZES").map(Number)
  const chatSizes = list("BENCH_CHAT_SIZES").map(Number)
  // Seeded in SQL with generate_series, so a fraction or a negative would silently seed nothing.
  for (const size of chatSizes) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`BENCH_CHAT_SIZES must list positive integers, got ${size}`)
    }
  }
  return {
    databaseUrl,
    databaseSource,
    durationSeconds: positive("BENCH_DURATION", 10),
    warmupSeconds: positive("BENCH_WARMUP", 2),
    connections: connections.length > 0 ? connections : [10, 50],
    parts: new Set(parts.length > 0 ? (parts as ReadonlyArray<Part>) : ALL_PARTS),
    workloads: new Set(list("BENCH_WORKLOADS")),
    scalingSizes: sizes.length > 0 ? sizes : [100, 10_000, 100_000],
    chatSizes: chatSizes.length > 0 ? chatSizes : [10, 300],
    poolSize: positive("BENCH_POOL_SIZE", 10),
    cpuProfileDir: env("BENCH_CPU_PROF"),
    serverBin: env("BENCH_SERVER_BIN"),
    peer: env("BENCH_PEER") !== "0",
    workers: workerCounts(),
    chatBaselineUs:
      env("BENCH_CHAT_BASELINE_US") === undefined ? undefined : positive("BENCH_CHAT_BASELINE_US", 1),
    requests: positive("BENCH_REQUESTS", 100),
    warmupRequests: positive("BENCH_WARMUP_REQUESTS", WARMUP_REQUESTS)
  }
}
