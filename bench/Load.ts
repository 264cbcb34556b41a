/**
 * Drives a running server with autocannon. Latencies are taken from autocannon's own response
 * timings but kept at microsecond resolution (its summary rounds to whole milliseconds, too
 * coarse for sub-millisecond reads), and a response counts as an error when it is not 2xx,
 * when the connection fails or times out, or when the workload's body check refuses it.
 */
import { createHistogram, type RecordableHistogram } from "node:perf_hooks"
import autocannon from "autocannon"

export interface Measurement {
  readonly requests: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  /** CPU time the measured process spent per request, in microseconds, when known. */
  readonly cpuPerRequestUs?: number | undefined
  /** The part of it on the main thread of each of the server's processes. */
  readonly mainThreadCpuPerRequestUs?: number | undefined
}

export interface LoadRequest {
  readonly method: "GET" | "POST" | "PATCH"
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
}

export interface LoadOptions {
  readonly base: string
  /** The requests to rotate through; each connection starts at a different point. */
  readonly requests: ReadonlyArray<LoadRequest>
  readonly connections: number
  readonly durationSeconds: number
  /**
   * Requests to send in all, instead of running for `durationSeconds`: with one connection
   * and as many requests as targets, each target gets exactly one (each chat turn then meets
   * its conversation at the seeded length).
   */
  readonly amount?: number | undefined
  /** Refuses a 2xx response whose body is not a success (an MCP tool error, for instance). */
  readonly accept?: ((body: string) => boolean) | undefined
  /** Also records every latency here (microseconds), to pool the percentiles of several runs. */
  readonly pool?: RecordableHistogram | undefined
}

const rotate = <A>(items: ReadonlyArray<A>, by: number): Array<A> => {
  const start = by % items.length
  return [...items.slice(start), ...items.slice(0, start)]
}

export const drive = (options: LoadOptions): Promise<Measurement> =>
  new Promise((resolve, reject) => {
    const histogram = createHistogram()
    let refused = 0
    const accept = options.accept
    const requests: Array<autocannon.Request> = options.requests.map((request) => ({
      method: request.method,
      path: request.path,
      headers: { ...request.headers },
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(accept === undefined
        ? {}
        : {
            onResponse: (status: number, body: string) => {
              if (status >= 200 && status < 300 && !accept(body)) refused++
            }
          })
    }))
    // Connections that all started at the first request would hit the same user and row in
    // lockstep; spreading their starting points keeps writes from queueing on one row lock.
    const spacing = Math.max(1, Math.floor(requests.length / options.connections))
    let clients = 0
    const started = performance.now()
    let lastResponse = started
    const instance = autocannon(
      {
        url: options.base,
        connections: options.connections,
        duration: options.durationSeconds,
        ...(options.amount === undefined ? {} : { amount: options.amount }),
        requests,
        setupClient: (client) => client.setRequests(rotate(requests, spacing * clients++))
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error)
        // autocannon ends a run of `amount` requests only at its next one-second tick, so its
        // duration holds idle time; such a run lasts until its last response instead.
        const seconds = options.amount === undefined ? result.duration : (lastResponse - started) / 1000
        resolve({
          requests: result.requests.total,
          requestsPerSecond: result.requests.total / seconds,
          p50Ms: histogram.count === 0 ? Number.NaN : histogram.percentile(50) / 1000,
          p99Ms: histogram.count === 0 ? Number.NaN : histogram.percentile(99) / 1000,
          errors: result.errors + result.timeouts + result.non2xx + refused
        })
      }
    )
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      lastResponse = performance.now()
      if (statusCode >= 200 && statusCode < 300) {
        const micros = Math.max(1, Math.round(responseTime * 1000))
        histogram.record(micros)
        options.pool?.record(micros)
      }
    })
  })
