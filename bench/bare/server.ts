/**
 * Taskport's read without its HTTP framework, to measure what h3 and the REST layer cost:
 * a bare `node:http` server over the same composition root as `taskport serve` (the same
 * configuration, database, fence, authenticator and `todo_read` use case, span making off),
 * answering only `GET /api/v1/tasks/{id}` with the same body. It stands in for the server
 * binary (`BENCH_SERVER_BIN=bench/bare/server.ts BENCH_WORKLOADS=read npm run bench`): it takes
 * the `serve` argument and announces its address as the server does. No request log, rate
 * limit, routing table, CORS or ETag: what is left is the core, the database and Node's HTTP.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import {
  Authenticator,
  actor,
  CurrentActor,
  CurrentUser,
  runTodoTool,
  type TodoToolHandlers
} from "@taskport/core"
import { AppLayer, ServerConfig } from "@taskport/server"
import { Effect, Exit } from "effect"

const PATH = /^\/api\/v1\/tasks\/([1-9][0-9]{0,9})$/

const program = Effect.gen(function* () {
  const config = yield* ServerConfig.load()
  return yield* Effect.gen(function* () {
    const authenticator = yield* Authenticator
    const context = yield* Effect.context<TodoToolHandlers>()
    const runWith = Effect.runPromiseExitWith(context)
    const reply = (response: Http.ServerResponse, status: number, body: string) => {
      response.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body)
      })
      response.end(body)
    }
    const server = Http.createServer((request, response) => {
      const id = PATH.exec(request.url ?? "")?.[1]
      if (request.method !== "GET" || id === undefined) return reply(response, 404, '{"error":"not_found"}')
      const read = Effect.flatMap(authenticator.authenticate(request.headers.authorization), (user) =>
        runTodoTool("todo_read", { id: Number(id) }).pipe(
          Effect.provideService(CurrentUser, { id: user }),
          Effect.provideService(CurrentActor, actor("rest", { client: request.headers["user-agent"] }))
        )
      )
      void runWith(read).then((exit) =>
        Exit.isSuccess(exit)
          ? reply(response, 200, JSON.stringify(exit.value.encoded))
          : reply(response, 400, '{"error":"failed"}')
      )
    })
    yield* Effect.acquireRelease(
      Effect.callback<void>((resume) => {
        server.listen(config.port, config.host, () => resume(Effect.void))
      }),
      () =>
        Effect.callback<void>((resume) => {
          server.close(() => resume(Effect.void))
        })
    )
    const { port } = server.address() as AddressInfo
    process.stderr.write(`Taskport (bare read) is listening on http://${config.host}:${port} (no docs)\n`)
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(AppLayer.layer(config, () => {})))
})

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
