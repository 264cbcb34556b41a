/**
 * An `effect/sql` client over embedded PGlite (PostgreSQL compiled to WebAssembly), so the
 * same repositories and migrations run with no database server. PGlite has one backend
 * connection: statements are serialised and a transaction holds the connection until it ends.
 * A data directory is guarded by a lock file, because two processes opening it would
 * corrupt it and PGlite itself does not check.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { Context, Effect, Layer, Schema, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, SqlError } from "effect/sql"

/** Another live process holds the data directory. */
export class DataDirectoryLocked extends Schema.TaggedError<DataDirectoryLocked>()("DataDirectoryLocked", {
  directory: Schema.String,
  pid: Schema.Number
}) {
  override get message(): string {
    return `The data directory ${this.directory} is in use by another Taskport process (pid ${this.pid}); stop it or choose another TASKPORT_DATA_DIR`
  }
}

/** The data directory could not be opened or initialised. */
export class DataDirectoryError extends Schema.TaggedError<DataDirectoryError>()("DataDirectoryError", {
  directory: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Cannot open the data directory ${this.directory}: ${this.reason}`
  }
}

const LOCK_FILE = "taskport.lock"

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM means the process exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Takes the directory's lock file, replacing one left behind by a process that died. */
const acquireLock = (directory: string) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const lockPath = Path.join(directory, LOCK_FILE)
      for (let attempt = 0; attempt < 3; attempt++) {
        const taken = yield* Effect.try({
          try: () => {
            Fs.mkdirSync(directory, { recursive: true })
            Fs.writeFileSync(lockPath, String(process.pid), { flag: "wx" })
            return true
          },
          catch: (error) => error as NodeJS.ErrnoException
        }).pipe(
          Effect.catch((error) =>
            error.code === "EEXIST"
              ? Effect.succeed(false)
              : Effect.fail(new DataDirectoryError({ directory, reason: error.code ?? "unknown error" }))
          )
        )
        if (taken) return lockPath
        const holder = Number.parseInt(Fs.readFileSync(lockPath, "utf8"), 10)
        if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
          return yield* new DataDirectoryLocked({ directory, pid: holder })
        }
        Fs.rmSync(lockPath, { force: true })
      }
      return yield* new DataDirectoryError({ directory, reason: "could not take the lock file" })
    }),
    (lockPath) => Effect.sync(() => Fs.rmSync(lockPath, { force: true }))
  )

/** Maps a PGlite error (which carries the SQLSTATE in `code`) to effect/sql's reasons. */
const classify = (cause: unknown, operation: string): SqlError.SqlError => {
  const code =
    typeof cause === "object" && cause !== null ? String((cause as { code?: unknown }).code ?? "") : ""
  const message = cause instanceof Error ? cause.message : "PGlite query failed"
  const base = { cause, message, operation }
  const reason =
    code === "23505"
      ? new SqlError.UniqueViolation({
          ...base,
          constraint: String((cause as { constraint?: unknown }).constraint ?? "")
        })
      : code.startsWith("23")
        ? new SqlError.ConstraintError(base)
        : code === "40P01"
          ? new SqlError.DeadlockError(base)
          : code === "40001"
            ? new SqlError.SerializationError(base)
            : code.startsWith("42")
              ? new SqlError.SqlSyntaxError(base)
              : new SqlError.UnknownError(base)
  return new SqlError.SqlError({ reason })
}

type Row = Record<string, unknown>

const makeConnection = (db: PGlite): SqlConnection.Connection => {
  const rows = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => db.query<Row>(sql, params as Array<unknown>),
      catch: (cause) => classify(cause, "query")
    }).pipe(Effect.map((result) => result.rows))
  const values = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => db.query<Array<unknown>>(sql, params as Array<unknown>, { rowMode: "array" }),
      catch: (cause) => classify(cause, "query")
    }).pipe(Effect.map((result) => result.rows as ReadonlyArray<ReadonlyArray<unknown>>))
  const transformed = <A extends object>(
    effect: Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>,
    transformRows: (<B extends object>(rows: ReadonlyArray<B>) => ReadonlyArray<B>) | undefined
  ) => (transformRows ? Effect.map(effect, transformRows) : effect)
  return {
    execute: (sql, params, transformRows) => transformed(rows(sql, params), transformRows),
    executeRaw: (sql, params) =>
      Effect.tryPromise({
        try: () => db.query(sql, params as Array<unknown>),
        catch: (c) => classify(c, "query")
      }),
    executeStream: (sql, params, transformRows) =>
      Stream.unwrap(
        Effect.map(transformed(rows(sql, params), transformRows), (all) => Stream.fromIterable(all))
      ),
    executeValues: values,
    executeValuesUnprepared: values,
    // Without parameters PGlite can run several statements at once (simple protocol).
    executeUnprepared: (sql, params, transformRows) =>
      transformed(
        params.length > 0
          ? rows(sql, params)
          : Effect.tryPromise({ try: () => db.exec(sql), catch: (c) => classify(c, "exec") }).pipe(
              Effect.map((results) => (results.at(-1)?.rows ?? []) as ReadonlyArray<Row>)
            ),
        transformRows
      )
  }
}

/**
 * PGlite's default buffer cache (128MB) lives in the WebAssembly heap and stays resident: with
 * it, the embedded server held over 500 MB. A single user's tasks fit many times in 8MB, and
 * pages that fall out of it are still in the operating system's file cache.
 */
const SHARED_BUFFERS = "8MB"

export interface PgliteOptions {
  /**
   * Taskport's data directory. The database lives in its `pgdata` folder, next to the lock
   * file. Omit it for an in-memory database (tests, throwaway runs).
   */
  readonly dataDir?: string | undefined
}

/** Whether `dataDir` already holds an initialised database, so callers can announce a first start. */
export const isInitialised = (dataDir: string): boolean =>
  Fs.existsSync(Path.join(dataDir, "pgdata", "PG_VERSION"))

/** The live PGlite instance, for callers that need more than SQL (dumps, health checks). */
export class Pglite extends Context.Service<Pglite, PGlite>()("@taskport/postgres/Pglite") {}

/** Provides `SqlClient` (and the raw `Pglite`) over an embedded PGlite database. */
export const layer = (
  options: PgliteOptions = {}
): Layer.Layer<SqlClient.SqlClient | Pglite, DataDirectoryLocked | DataDirectoryError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const dataDir = options.dataDir === undefined ? undefined : Path.resolve(options.dataDir)
      if (dataDir !== undefined) yield* acquireLock(dataDir)
      const db = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const instance = new PGlite(dataDir === undefined ? undefined : Path.join(dataDir, "pgdata"), {
              startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${SHARED_BUFFERS}`]
            })
            await instance.waitReady
            return instance
          },
          catch: (cause) =>
            new DataDirectoryError({
              directory: dataDir ?? "(memory)",
              reason: cause instanceof Error ? cause.message : "PGlite failed to start"
            })
        }),
        (instance) => Effect.promise(() => instance.close())
      )
      const client = yield* SqlClient.make({
        ...SqlClient.makeSqliteAcquirers({
          connection: Effect.succeed(makeConnection(db)),
          semaphore: Semaphore.makeUnsafe(1)
        }),
        compiler: PgClient.makeCompiler(),
        driver: "pglite",
        spanAttributes: [["db.system.name", "postgresql"]]
      })
      return Context.make(SqlClient.SqlClient, client).pipe(Context.add(Pglite, db))
    })
  ).pipe(Layer.provide(Reactivity.layer))
