/**
 * A Postgres that accepts the connection and then refuses the session (too many clients,
 * starting up, shutting down, connections not allowed) is the database being unavailable:
 * a retryable failure, so every surface answers 503 with Retry-After, never 500.
 * A small TCP server plays that Postgres: it reads the start-up packet and answers with
 * the FATAL error the real server sends.
 */
import { createServer, type Server } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { RepositoryError, TaskRepository, UserId } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { Effect, Exit, Option, Redacted } from "effect"

/** An ErrorResponse ('E') message with severity FATAL. */
const fatal = (sqlstate: string, message: string): Buffer => {
  const fields = Buffer.concat(
    [
      ["S", "FATAL"],
      ["V", "FATAL"],
      ["C", sqlstate],
      ["M", message]
    ]
      .map(([code, value]) => Buffer.from(`${code}${value}\u0000`, "utf8"))
      .concat(Buffer.from([0]))
  )
  const header = Buffer.alloc(5)
  header.write("E", 0)
  header.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([header, fields])
}

const SSL_REQUEST = 80877103

/** Listens on a free loopback port and refuses every session with `sqlstate`. */
const refusingServer = (sqlstate: string, message: string) =>
  Effect.acquireRelease(
    Effect.callback<{ server: Server; port: number }>((resume) => {
      const server = createServer((socket) => {
        socket.on("data", (chunk) => {
          // An SSLRequest is declined ('N'); the start-up packet that follows gets the refusal.
          if (chunk.length === 8 && chunk.readInt32BE(4) === SSL_REQUEST) socket.write("N")
          else socket.end(fatal(sqlstate, message))
        })
        socket.on("error", () => {})
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed({ server, port: typeof address === "object" && address ? address.port : 0 }))
      })
    }),
    ({ server }) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
  )

const CASES: ReadonlyArray<readonly [string, string]> = [
  ["53300", "sorry, too many clients already"],
  ["57P03", "the database system is starting up"],
  ["57P01", "terminating connection due to administrator command"],
  ["55000", 'database "test" is not currently accepting connections']
]

describe("a session the server refuses", () => {
  for (const [sqlstate, message] of CASES) {
    it.live(`G1: ${sqlstate} (${message}) is a retryable RepositoryError`, () =>
      Effect.gen(function* () {
        const { port } = yield* refusingServer(sqlstate, message)
        const database = PgDatabase.layer({
          url: Redacted.make(`postgres://postgres@127.0.0.1:${port}/test`),
          migrate: false,
          maxConnections: 1
        })
        const exit = yield* Effect.exit(
          Effect.gen(function* () {
            const repo = yield* TaskRepository
            return yield* repo.list(UserId.make("ada"), {
              status: "all",
              sort: "created_at",
              order: "desc",
              limit: 10
            })
          }).pipe(Effect.provide(database))
        )
        const error = Exit.isFailure(exit) ? Option.getOrNull(Exit.findErrorOption(exit)) : null
        expect(error).toBeInstanceOf(RepositoryError)
        expect((error as RepositoryError).retryable).toBe(true)
        expect((error as RepositoryError).message).toContain("unavailable")
      }).pipe(Effect.scoped)
    )
  }

  it.live("G1: REST task and chat routes answer 503 with Retry-After while sessions are refused", () =>
    Effect.gen(function* () {
      const { port } = yield* refusingServer("53300", "sorry, too many clients already")
      const database = PgDatabase.layer({
        url: Redacted.make(`postgres://postgres@127.0.0.1:${port}/test`),
        migrate: false,
        maxConnections: 1
      })
      yield* Effect.gen(function* () {
        const app = yield* makeApp()
        const token = yield* tokenFor("ada")
        for (const [method, path, body] of [
          ["GET", "/api/v1/tasks", undefined],
          ["POST", "/api/v1/tasks", { title: "t" }],
          ["POST", "/api/v1/chat", { message: "list my tasks" }],
          ["GET", "/api/v1/conversations", undefined]
        ] as const) {
          const reply = yield* send(app, method, path, { token, ...(body === undefined ? {} : { body }) })
          expect(reply.status, `${method} ${path}: ${reply.text}`).toBe(503)
          expect(reply.headers.get("retry-after")).not.toBeNull()
        }
      }).pipe(Effect.provide(servicesLayer(database)))
    }).pipe(Effect.scoped)
  )
})
