/**
 * How database failures reach the core: every SqlError becomes a RepositoryError whose
 * `retryable` flag says whether trying again can help (connection loss can, a constraint
 * violation cannot) and whose message and serialised form carry no SQL text or data.
 * Checked on hand-made errors, on real errors from each driver, on a server that is not
 * there, and on a connection killed in the middle of a repository call. Operators get what
 * the client does not: the SQLSTATE and the server's message, in the log line.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { RepositoryError, TaskId, TaskRepository, Transactor } from "@taskport/core"
import { PgDatabase, toRepositoryError } from "@taskport/postgres"
import { realPostgresUrl } from "@taskport/test-support/ScratchDatabase"
import { postgresLayer, testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Context, Effect, Exit, Fiber, Layer, Logger, Option, Redacted, References, Schema } from "effect"
import { SqlClient, SqlError } from "effect/sql"

// Text that must never leave the adapter: the statement and the values in it.
const STATEMENT = "INSERT INTO tasks (user_id, title) VALUES ('alice-7f3a', 'quarterly-payroll-9c1d')"
const SECRETS = ["INSERT", "tasks", "alice-7f3a", "quarterly-payroll-9c1d", "VALUES"]

/** The error as a client could ever see it: its message and its encoded form. */
const exposed = (error: RepositoryError): string =>
  `${error.message} ${JSON.stringify(Schema.encodeSync(RepositoryError)(error))}`

const expectNoSqlText = (error: RepositoryError, extra: ReadonlyArray<string> = []) => {
  const text = exposed(error)
  for (const secret of [...SECRETS, ...extra]) expect(text).not.toContain(secret)
}

const reasons = (cause: Error) => {
  const base = { cause, message: cause.message, operation: "execute" }
  return {
    ConnectionError: new SqlError.ConnectionError(base),
    DeadlockError: new SqlError.DeadlockError(base),
    SerializationError: new SqlError.SerializationError(base),
    LockTimeoutError: new SqlError.LockTimeoutError(base),
    StatementTimeoutError: new SqlError.StatementTimeoutError(base),
    AuthenticationError: new SqlError.AuthenticationError(base),
    AuthorizationError: new SqlError.AuthorizationError(base),
    SqlSyntaxError: new SqlError.SqlSyntaxError(base),
    UniqueViolation: new SqlError.UniqueViolation({ ...base, constraint: "tasks_pkey" }),
    ConstraintError: new SqlError.ConstraintError(base),
    UnknownError: new SqlError.UnknownError(base)
  }
}

const RETRYABLE = [
  "ConnectionError",
  "DeadlockError",
  "SerializationError",
  "LockTimeoutError",
  "StatementTimeoutError"
]

describe("toRepositoryError", () => {
  it("R18: connection loss, deadlocks, serialisation failures and timeouts are retryable; the rest are not", () => {
    const cause = new Error(`duplicate key value violates unique constraint; statement: ${STATEMENT}`)
    for (const [tag, reason] of Object.entries(reasons(cause))) {
      const error = toRepositoryError(new SqlError.SqlError({ reason }))
      expect(error).toBeInstanceOf(RepositoryError)
      expect({ tag, retryable: error.retryable, reason: error.reason }).toEqual({
        tag,
        retryable: RETRYABLE.includes(tag),
        reason: tag
      })
      expectNoSqlText(error)
    }
  })

  it("R18: the message tells a client whether to try again, in plain words", () => {
    const cause = new Error(STATEMENT)
    const { ConnectionError, UniqueViolation } = reasons(cause)
    expect(toRepositoryError(new SqlError.SqlError({ reason: ConnectionError })).message).toBe(
      "The database is unavailable; try again shortly"
    )
    expect(toRepositoryError(new SqlError.SqlError({ reason: UniqueViolation })).message).toBe(
      "The database could not complete the request"
    )
  })
})

for (const database of testDatabases()) {
  describe(`driver errors on ${database.name}`, () => {
    layer(database.layer(), { timeout: 120_000 })((it) => {
      it.effect("R18: a real unique violation and a real syntax error map to non-retryable errors", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`CREATE TABLE r18_probe (id integer PRIMARY KEY, secret text)`
          yield* sql`INSERT INTO r18_probe (id, secret) VALUES (1, 'first-4b2e')`

          const duplicate = yield* Effect.flip(
            sql`INSERT INTO r18_probe (id, secret) VALUES (1, 'second-8d0c')`
          )
          expect(duplicate.reason._tag).toBe("UniqueViolation")
          const fromDuplicate = toRepositoryError(duplicate)
          expect(fromDuplicate).toMatchObject({ retryable: false, reason: "UniqueViolation" })
          expectNoSqlText(fromDuplicate, ["r18_probe", "second-8d0c", "first-4b2e"])

          const syntax = yield* Effect.flip(sql.unsafe("SELEC secret FROM r18_probe"))
          expect(syntax.reason._tag).toBe("SqlSyntaxError")
          const fromSyntax = toRepositoryError(syntax)
          expect(fromSyntax).toMatchObject({ retryable: false, reason: "SqlSyntaxError" })
          expectNoSqlText(fromSyntax, ["SELEC", "r18_probe"])
        })
      )

      it.effect("R18: a repository call that breaks a table constraint fails with a RepositoryError", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          // The schema normally stops this title; the database's own check is the last line.
          const title = `overlong-${"x".repeat(300)}`
          const error = yield* Effect.flip(
            repo.insert(newUser(), { title, description: null, priority: "low", due: null, tags: [] })
          )
          expect(error).toBeInstanceOf(RepositoryError)
          expect(error.retryable).toBe(false)
          expectNoSqlText(error, ["overlong-", "char_length"])
        })
      )
    })
  })
}

for (const database of testDatabases()) {
  describe(`a refused statement's log line on ${database.name}`, () => {
    layer(database.layer(), { timeout: 120_000 })((it) => {
      it.effect(
        "R18: the log names the SQLSTATE and the server's message; the RepositoryError has neither",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const repo = yield* TaskRepository
            const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
            const capture = Logger.layer([
              Logger.make((options) =>
                lines.push({
                  message: options.message,
                  annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
                })
              )
            ])
            // A real refusal: the table the statement names is gone.
            yield* sql`DROP TABLE tasks CASCADE`
            const error = yield* Effect.flip(repo.find(newUser(), TaskId.make(1))).pipe(
              Effect.provide(capture)
            )
            expect(error).toBeInstanceOf(RepositoryError)
            const logged = lines.find((line) => line.annotations.sqlstate !== undefined)
            expect(logged?.annotations).toMatchObject({
              sqlstate: "42P01",
              db_message: expect.stringContaining('relation "tasks" does not exist')
            })
            expect(exposed(error)).not.toMatch(/42P01|does not exist|relation/)
          })
      )
    })
  })
}

describe("an unreachable server", () => {
  it.live("R18: a repository call against a closed port fails with a retryable RepositoryError", () =>
    Effect.gen(function* () {
      // Nothing listens on port 1; the pool connects lazily, so the layer itself builds.
      const unreachable = PgDatabase.layer({
        url: Redacted.make("postgres://postgres@127.0.0.1:1/test"),
        migrate: false,
        maxConnections: 1
      })
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          return yield* repo.list(newUser(), { status: "all", sort: "created_at", order: "desc", limit: 10 })
        }).pipe(Effect.provide(unreachable))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Option.getOrNull(Exit.findErrorOption(exit)) : null
      expect(error).toBeInstanceOf(RepositoryError)
      const repositoryError = error as RepositoryError
      expect(repositoryError).toMatchObject({ retryable: true, reason: "ConnectionError" })
      expectNoSqlText(repositoryError, ["SELECT", "user_id", "127.0.0.1"])
    })
  )
})

const databaseUrl = realPostgresUrl()
if (databaseUrl !== undefined) {
  describe("a connection lost during a repository call on postgres", () => {
    it.live(
      "R18: the call fails with a retryable RepositoryError, and the next call reconnects",
      () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const sql = yield* SqlClient.SqlClient
          const owner = newUser()
          const task = yield* repo.insert(owner, {
            title: "locked",
            description: null,
            priority: "low",
            due: null,
            tags: []
          })
          // One connection in each pool, so the repository's next statement, fenced for its
          // owner, runs on the backend of this fenced statement.
          const [backend] = yield* (yield* Transactor).forOwner(owner)(sql<{ pid: number; schema: string }>`
            SELECT pg_backend_pid() AS pid, current_schema() AS schema`)
          const { pid, schema } = backend!

          const admin = Context.get(
            yield* Layer.build(
              PgDatabase.layerClient({ url: Redacted.make(databaseUrl), maxConnections: 1 })
            ),
            SqlClient.SqlClient
          )
          const outcome = yield* admin.withTransaction(
            Effect.gen(function* () {
              // Hold the row so that the update waits on the server, then cut its connection.
              yield* admin`SELECT id FROM ${admin(schema)}.tasks WHERE id = ${task.id} FOR UPDATE`
              const update = yield* Effect.forkChild(
                Effect.exit(repo.update(owner, task.id, { title: "changed" }, undefined))
              )
              let waiting = false
              for (let attempt = 0; attempt < 500 && !waiting; attempt++) {
                const rows = yield* admin<{ waiting: boolean }>`
                  SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = ${pid}`
                waiting = rows[0]?.waiting === true
                if (!waiting) yield* Effect.sleep("10 millis")
              }
              expect(waiting).toBe(true)
              yield* admin`SELECT pg_terminate_backend(${pid})`
              return yield* Fiber.join(update)
            })
          )

          expect(Exit.isFailure(outcome)).toBe(true)
          const error = Exit.isFailure(outcome) ? Option.getOrNull(Exit.findErrorOption(outcome)) : null
          expect(error).toBeInstanceOf(RepositoryError)
          const repositoryError = error as RepositoryError
          expect(repositoryError.retryable).toBe(true)
          expectNoSqlText(repositoryError, ["UPDATE", "locked", "changed"])

          // Retrying is what the flag promises: the pool reconnects and nothing was written.
          expect(Option.map(yield* repo.find(owner, task.id), (found) => found.title)).toEqual(
            Option.some("locked")
          )
        }).pipe(Effect.provide(postgresLayer(databaseUrl, { maxConnections: 1 }))),
      60_000
    )
  })
}
