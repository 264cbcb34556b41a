/**
 * The ceiling each server workload is compared with: the very SQL statement the repository
 * issues for that request, run straight through the same database client (`@effect/sql-pg`,
 * same pool size) at the same concurrency, with no HTTP, authentication or encoding.
 *
 * The statements are not copied by hand. The real `PgTaskRepository` is run once against a
 * recording client, with sentinel values for the owner and the task id; the recorded text and
 * parameters are then replayed with each request's real owner and id. So the ceiling follows
 * every change to the repository's SQL and can never measure a statement the server no longer
 * sends.
 */
import { createHistogram } from "node:perf_hooks"
import { PgClient } from "@effect/sql-pg"
import { type TaskRepository, UserId } from "@taskport/core"
import { PgTaskRepository } from "@taskport/postgres"
import { Effect, Exit, Layer, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection } from "effect/sql"
import type { Measurement } from "./Load.ts"

export interface CapturedStatement {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

/** Values no real request uses, replaced by each request's own owner and task id. */
export const SENTINEL = { owner: UserId.make("bench-sentinel-owner"), id: 2_000_000_001 } as const

// A row the repository's decoding accepts, so that it issues exactly one statement.
const CANNED_ROW = {
  id: SENTINEL.id,
  title: "Canned",
  description: null,
  priority: "medium",
  completed: false,
  completed_at: null,
  due: null,
  tags: [],
  recurrence: null,
  reminder: null,
  remind_at: null,
  next_occurrence_id: null,
  version: 1,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  sort_key: "2026-01-01T00:00:00.000Z"
}

const recordingConnection = (log: Array<CapturedStatement>): SqlConnection.Connection => {
  const record = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.sync(() => {
      log.push({ sql, params: [...params] })
      return [{ ...CANNED_ROW }]
    })
  return {
    execute: (sql, params) => record(sql, params),
    executeRaw: (sql, params) => record(sql, params),
    executeStream: (sql, params) => Stream.unwrap(Effect.map(record(sql, params), Stream.fromIterable)),
    executeValues: (sql, params) => Effect.as(record(sql, params), []),
    executeValuesUnprepared: (sql, params) => Effect.as(record(sql, params), []),
    executeUnprepared: (sql, params) => record(sql, params)
  }
}

/** Runs one repository call against a recording client and returns the single statement it issued. */
export const capture = (
  call: (repository: TaskRepository["Service"]) => Effect.Effect<unknown, unknown>
): Promise<CapturedStatement> => {
  const log: Array<CapturedStatement> = []
  const recorder = Layer.effect(
    SqlClient.SqlClient,
    SqlClient.make({
      acquirer: Effect.succeed(recordingConnection(log)),
      compiler: PgClient.makeCompiler(),
      driver: "recorder",
      spanAttributes: []
    })
  ).pipe(Layer.provide(Reactivity.layer))
  return Effect.runPromise(
    Effect.gen(function* () {
      const repository = yield* PgTaskRepository.make
      yield* call(repository)
      if (log.length !== 1) {
        return yield* Effect.die(new Error(`expected one statement, the repository issued ${log.length}`))
      }
      return log[0]!
    }).pipe(Effect.provide(recorder))
  )
}

/** The statement's parameters with the sentinels replaced by a request's owner and task id. */
export const bind = (
  statement: CapturedStatement,
  owner: string,
  id: number | undefined
): ReadonlyArray<unknown> =>
  statement.params.map((param) =>
    param === SENTINEL.owner ? owner : param === SENTINEL.id && id !== undefined ? id : param
  )

export interface Target {
  readonly owner: string
  readonly id?: number | undefined
  /** The conversation a chat turn continues. */
  readonly conversation?: string | undefined
}

/**
 * Replays `statement` from `connections` concurrent workers for `durationMs`, each taking the
 * next target in turn, and measures it the way the load generator measures the server.
 */
export const measure = (
  statement: CapturedStatement,
  targets: ReadonlyArray<Target>,
  connections: number,
  durationMs: number
): Effect.Effect<Measurement, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const histogram = createHistogram()
    let next = 0
    let completed = 0
    let errors = 0
    const started = performance.now()
    const cpu = process.cpuUsage()
    const end = started + durationMs
    const worker = Effect.gen(function* () {
      while (performance.now() < end) {
        const target = targets[next++ % targets.length]!
        const params = bind(statement, target.owner, target.id)
        const begun = performance.now()
        const exit = yield* Effect.exit(sql.unsafe(statement.sql, params))
        if (Exit.isSuccess(exit)) {
          histogram.record(Math.max(1, Math.round((performance.now() - begun) * 1000)))
          completed++
        } else {
          errors++
        }
      }
    })
    yield* Effect.forEach(
      Array.from({ length: connections }, () => worker),
      (run) => run,
      { concurrency: "unbounded", discard: true }
    )
    const seconds = (performance.now() - started) / 1000
    const used = process.cpuUsage(cpu)
    return {
      cpuPerRequestUs: completed === 0 ? undefined : (used.user + used.system) / completed,
      requests: completed,
      requestsPerSecond: completed / seconds,
      p50Ms: histogram.count === 0 ? Number.NaN : histogram.percentile(50) / 1000,
      p99Ms: histogram.count === 0 ? Number.NaN : histogram.percentile(99) / 1000,
      errors
    }
  })
