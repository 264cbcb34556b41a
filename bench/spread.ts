/**
 * How evenly the ways of sharing one port spread keep-alive connections over two worker
 * processes, the question behind WEB_CONCURRENCY's choice of node:cluster round-robin:
 *
 * - `rr`: node:cluster's default on Linux; the primary accepts and hands connections out in turn;
 * - `reuse`: each worker its own SO_REUSEPORT socket; the kernel picks by a hash of the addresses;
 * - `none`: node:cluster with one shared socket that every worker accepts from.
 *
 * `node bench/spread.ts [connections...] [--runs N]` opens that many keep-alive connections
 * with autocannon for a second, N times per way, and prints how many each worker accepted.
 * The workers answer a small fixed computation, so connections, not the work, are compared.
 */
import Cluster from "node:cluster"
import * as Http from "node:http"
import autocannon from "autocannon"

type Way = "rr" | "reuse" | "none"
const WAYS: ReadonlyArray<Way> = ["rr", "reuse", "none"]

interface Tally {
  readonly pid: number
  readonly connections: number
  readonly requests: number
}

// Read by name: a worker's settings, passed by its primary, never a build input.
const setting = (name: string) => process.env[name] ?? ""

if (Cluster.isWorker) {
  const way = setting("SPREAD_WAY") as Way
  let connections = 0
  let requests = 0
  const server = Http.createServer((_request, response) => {
    requests++
    let sum = 0
    for (let i = 0; i < 20_000; i++) sum += i
    response.end(String(sum))
  })
  server.on("connection", () => connections++)
  server.listen(
    {
      port: Number(setting("SPREAD_PORT")),
      host: "127.0.0.1",
      // A socket of its own per worker, which the kernel balances, instead of the primary's.
      exclusive: way === "reuse",
      reusePort: way === "reuse"
    },
    () => process.send?.("ready")
  )
  process.on("message", () => process.send?.({ pid: process.pid, connections, requests } satisfies Tally))
} else {
  const args = process.argv.slice(2)
  const runsAt = args.indexOf("--runs")
  const runs = runsAt < 0 ? 5 : Number(args[runsAt + 1])
  const counts = args
    .filter((_, index) => runsAt < 0 || (index !== runsAt && index !== runsAt + 1))
    .map(Number)
  const once = async (way: Way, connections: number): Promise<ReadonlyArray<Tally>> => {
    Cluster.schedulingPolicy = way === "none" ? Cluster.SCHED_NONE : Cluster.SCHED_RR
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    const workers = [0, 1].map(() => Cluster.fork({ SPREAD_WAY: way, SPREAD_PORT: String(port) }))
    await Promise.all(workers.map((worker) => new Promise((ready) => worker.once("message", ready))))
    await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: 1 })
    const tallies = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<Tally>((tally) => {
            worker.once("message", tally)
            worker.send("tally")
          })
      )
    )
    await Promise.all(
      workers.map((worker) => new Promise((gone) => worker.once("exit", gone).process.kill("SIGTERM")))
    )
    return tallies
  }
  for (const connections of counts.length > 0 ? counts : [10, 50]) {
    for (const way of WAYS) {
      const splits: Array<string> = []
      for (let run = 0; run < runs; run++) {
        const tallies = await once(way, connections)
        splits.push(tallies.map((t) => t.connections).join("/"))
      }
      process.stdout.write(
        `${String(connections).padStart(3)} connections, ${way.padEnd(5)}: ${splits.join("  ")}\n`
      )
    }
  }
}
