/**
 * The benchmark's output: one table on stdout, the comparison with the Fastify peer, the
 * targets read from the same figures, and a JSON file and an SVG chart (Chart.ts) under
 * bench/results/ carrying the figures with the date, commit, Node version and machine they
 * were measured on, so that runs on different days can be compared.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Chart from "./Chart.ts"
import type { ModelStats } from "./InstantModel.ts"
import type { Measurement } from "./Load.ts"

export interface ThroughputRow {
  readonly workload: string
  readonly description: string
  /** Server processes: Taskport's WEB_CONCURRENCY, and the peer's cluster workers. */
  readonly workers: number
  readonly connections: number
  readonly server: Measurement
  /** None for a workload no single statement stands for (a chat turn). */
  readonly ceiling: Measurement | undefined
  /** Server req/s over ceiling req/s. */
  readonly ratio: number | undefined
  /** The Fastify peer under the same load, right after (REST workloads, unless BENCH_PEER=0). */
  readonly peer?: Measurement | undefined
  /** What the instant model did during the measured run, for the chat workload. */
  readonly model?: ModelStats | undefined
}

export interface PendingRow {
  readonly workload: string
  readonly description: string
  readonly reason: string
}

export interface ScalingRow {
  readonly tasks: number
  readonly server: Measurement
  /** Postgres's plan for the repository's first-page statement at this size. */
  readonly plan: ReadonlyArray<string>
}

/** One chat turn in conversations that already hold `messages` messages, over one connection. */
export interface ChatScalingRow {
  readonly messages: number
  /** Measured turns, each in a conversation of its own, so each met exactly `messages`. */
  readonly turns: number
  readonly server: Measurement
  readonly model: ModelStats
}

export interface EmbeddedFigures {
  readonly fresh: StartFigures
  readonly existing: StartFigures
  readonly load: Measurement
  readonly rssAfterLoadBytes: number | undefined
  readonly rssPeakBytes: number | undefined
}

export interface StartFigures {
  readonly healthMs: number
  readonly readyMs: number
  /** What the server printed before it answered, with milliseconds since it was spawned. */
  readonly output: ReadonlyArray<string>
  /** Resident memory once ready. */
  readonly rssBytes: number | undefined
}

export interface Target {
  readonly name: string
  readonly value: string
  readonly limit: string
  /** Undefined for a figure recorded as a baseline, with no limit yet. */
  readonly met: boolean | undefined
}

export interface Results {
  readonly date: string
  readonly commit: string
  readonly node: string
  readonly cores: number
  readonly cpu: string
  readonly settings: Readonly<Record<string, unknown>>
  readonly notes: ReadonlyArray<string>
  readonly throughput: ReadonlyArray<ThroughputRow>
  readonly pending: ReadonlyArray<PendingRow>
  readonly scaling: ReadonlyArray<ScalingRow>
  readonly chatScaling: ReadonlyArray<ChatScalingRow>
  readonly embedded: EmbeddedFigures | undefined
  readonly targets: ReadonlyArray<Target>
}

const root = fileURLToPath(new URL("..", import.meta.url))

export const commit = (): string => {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: root,
      encoding: "utf8"
    }).trim()
    return dirty === "" ? head : `${head}+changes`
  } catch {
    return "unknown"
  }
}

export const machine = () => ({
  node: process.version,
  cores: Os.availableParallelism(),
  cpu: Os.cpus()[0]?.model ?? "unknown"
})

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "-")
export const ms = (value: number) => fixed(value, value < 10 ? 2 : 1)
export const mb = (bytes: number | undefined) =>
  bytes === undefined ? "-" : `${(bytes / 2 ** 20).toFixed(0)} MB`

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)))
  // Names align left, figures right, as in any table of numbers.
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

export const format = (results: Results): string => {
  const rows: Array<ReadonlyArray<string>> = results.throughput.map((row) => [
    row.workload,
    String(row.workers),
    String(row.connections),
    fixed(row.server.requestsPerSecond, 0),
    ms(row.server.p50Ms),
    ms(row.server.p99Ms),
    String(row.server.errors),
    fixed(row.server.cpuPerRequestUs ?? Number.NaN, 0),
    fixed(row.server.mainThreadCpuPerRequestUs ?? Number.NaN, 0),
    row.ceiling === undefined ? "" : fixed(row.ceiling.requestsPerSecond, 0),
    row.ratio === undefined ? "" : `${fixed(row.ratio * 100, 0)}%`
  ])
  for (const row of results.scaling) {
    rows.push([
      `list first page, ${row.tasks.toLocaleString("en-US")} tasks`,
      "1",
      "1",
      fixed(row.server.requestsPerSecond, 0),
      ms(row.server.p50Ms),
      ms(row.server.p99Ms),
      String(row.server.errors),
      "",
      "",
      "",
      ""
    ])
  }
  for (const row of results.chatScaling) {
    rows.push([
      `chat turn, ${row.messages.toLocaleString("en-US")} messages`,
      "1",
      "1",
      fixed(row.server.requestsPerSecond, 0),
      ms(row.server.p50Ms),
      ms(row.server.p99Ms),
      String(row.server.errors),
      fixed(row.server.cpuPerRequestUs ?? Number.NaN, 0),
      fixed(row.server.mainThreadCpuPerRequestUs ?? Number.NaN, 0),
      "",
      ""
    ])
  }
  for (const row of results.pending) rows.push([row.workload, "", "pending", "", "", "", "", "", "", "", ""])
  const sections = [
    `Taskport benchmark, ${results.date}, commit ${results.commit}, Node ${results.node}, ${results.cores} cores (${results.cpu})`,
    ...results.notes,
    "",
    table(
      [
        "workload",
        "procs",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "CPU µs/req",
        "main µs/req",
        "ceiling req/s",
        "ratio"
      ],
      rows
    ),
    "",
    "procs: server processes (1, or WEB_CONCURRENCY workers).",
    "CPU µs/req: the server's CPU time per request (user + system, its workers included), steadier than req/s on a busy machine.",
    "main µs/req: the part of it on each process's main thread, where requests run; the rest is V8's helper threads (collection, compilation).",
    "ratio: server req/s over the ceiling's, the same SQL through the same client at the same concurrency without HTTP."
  ]
  const compared = results.throughput.filter((row) => row.peer !== undefined)
  if (compared.length > 0) {
    sections.push(
      "",
      "Taskport and the Fastify peer (bench/peer/server.ts: Fastify, @fastify/jwt, pg), the same requests back to back:",
      "",
      table(
        [
          "workload",
          "procs",
          "conns",
          "req/s",
          "peer req/s",
          "vs peer",
          "p99 ms",
          "peer p99 ms",
          "CPU µs/req",
          "peer CPU µs/req",
          "CPU vs peer"
        ],
        compared.map((row) => {
          const peer = row.peer!
          const cpu = row.server.cpuPerRequestUs ?? Number.NaN
          const peerCpu = peer.cpuPerRequestUs ?? Number.NaN
          return [
            row.workload,
            String(row.workers),
            String(row.connections),
            fixed(row.server.requestsPerSecond, 0),
            fixed(peer.requestsPerSecond, 0),
            `${fixed(row.server.requestsPerSecond / peer.requestsPerSecond, 2)}x`,
            ms(row.server.p99Ms),
            ms(peer.p99Ms),
            fixed(cpu, 0),
            fixed(peerCpu, 0),
            `${fixed(cpu / peerCpu, 2)}x`
          ]
        })
      ),
      "",
      "vs peer: Taskport's req/s over the peer's (above 1: Taskport serves more). CPU vs peer: Taskport's CPU per request over the peer's (below 1: Taskport spends less)."
    )
  }
  const modelLines = [
    ...results.throughput.flatMap((row) =>
      row.model === undefined ? [] : [modelLine(`${row.workload} at ${row.connections} connections`, row)]
    ),
    ...results.chatScaling.map((row) => modelLine(`chat turn, ${row.messages} messages`, row))
  ]
  if (modelLines.length > 0) {
    sections.push(
      "",
      "Chat turns talk to an instant scripted model in the benchmark's process; its own time per request:",
      ...modelLines
    )
  }
  if (results.pending.length > 0) {
    sections.push("", ...results.pending.map((row) => `pending: ${row.workload}: ${row.reason}`))
  }
  if (results.embedded !== undefined) {
    const e = results.embedded
    sections.push(
      "",
      "Embedded database (PGlite, no DATABASE_URL):",
      `  fresh data directory:    /health ${ms(e.fresh.healthMs)} ms, /ready ${ms(e.fresh.readyMs)} ms, RSS ${mb(e.fresh.rssBytes)}`,
      ...e.fresh.output.map((line) => `    ${line}`),
      `  existing data directory: /health ${ms(e.existing.healthMs)} ms, /ready ${ms(e.existing.readyMs)} ms, RSS ${mb(e.existing.rssBytes)}`,
      `  list at 10 connections:  ${fixed(e.load.requestsPerSecond, 0)} req/s, p50 ${ms(e.load.p50Ms)} ms, p99 ${ms(e.load.p99Ms)} ms, ${e.load.errors} errors`,
      `  server RSS after load:   ${mb(e.rssAfterLoadBytes)} (peak ${mb(e.rssPeakBytes)})`
    )
  }
  if (results.targets.length > 0) {
    sections.push(
      "",
      "Targets:",
      ...results.targets.map(
        (t) =>
          `  ${t.met === undefined ? "noted " : t.met ? "met   " : "MISSED"}  ${t.name}: ${t.value} (target ${t.limit})`
      )
    )
  }
  return sections.join("\n")
}

const modelLine = (
  label: string,
  row: { readonly server: Measurement; readonly model?: ModelStats | undefined }
): string => {
  const model = row.model
  if (model === undefined) return `  ${label}: -`
  const perTurn = row.server.requests === 0 ? Number.NaN : model.requests / row.server.requests
  return `  ${label}: ${fixed(perTurn, 2)} model requests per turn, of ${fixed(model.meanRequestBytes / 1024, 1)} KB on average, answered in ${fixed(model.meanUs, 0)} µs mean (p99 ${fixed(model.p99Us, 0)} µs)${model.refused > 0 ? `, ${model.refused} refused` : ""}`
}

/**
 * Writes the results as JSON under bench/results/ and, when the peer ran, the chart beside
 * it and to docs/images/bench.svg (which docs/performance.md shows); returns the paths written.
 */
export const write = (results: Results): ReadonlyArray<string> => {
  const directory = Path.join(root, "bench", "results")
  Fs.mkdirSync(directory, { recursive: true })
  const stamp = results.date.replace(/[:]/g, "-").replace(/\.\d+Z$/, "Z")
  const base = Path.join(directory, `${stamp}-${results.commit.replace(/\+/g, "-")}`)
  const text = `${JSON.stringify(results, null, 2)}\n`
  Fs.writeFileSync(`${base}.json`, text)
  Fs.writeFileSync(Path.join(directory, "latest.json"), text)
  const svg = Chart.render(results)
  if (svg === undefined) return [`${base}.json`]
  const docs = Path.join(root, "docs", "images", "bench.svg")
  Fs.writeFileSync(`${base}.svg`, svg)
  Fs.writeFileSync(Path.join(directory, "latest.svg"), svg)
  Fs.writeFileSync(docs, svg)
  return [`${base}.json`, `${base}.svg`, docs]
}
