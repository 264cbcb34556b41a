/**
 * The HTTP listener as a scoped resource: acquiring it starts serving an h3 app; closing
 * its scope (the end of the program, or the fiber's interruption on SIGTERM/SIGINT) drains
 * it: it stops accepting, lets requests in flight finish, and cuts what is still running
 * after a grace period. Whatever the scope acquired earlier, the database above all, is
 * released only after that.
 */
import { Duration, Effect } from "effect"
import { type H3, serve } from "h3"

export interface ListenerOptions {
  readonly port: number
  readonly host: string
  /** Longest a client may take to send a whole request. */
  readonly requestTimeoutMs: number
  /** How long requests in flight may run on once draining starts (default 10 seconds). */
  readonly grace?: Duration.Input | undefined
}

export interface Listener {
  /** The base URL it listens on, without a trailing slash. */
  readonly url: string
}

export const make = (app: H3, options: ListenerOptions) => {
  // While draining, every answer closes its connection, so keep-alive clients move on
  // instead of holding the drain open with new requests.
  let draining = false
  return Effect.acquireRelease(
    Effect.gen(function* () {
      // Checked once the answer is ready, so a request that was in flight when draining began
      // closes its connection too.
      app.use(async (event, next) => {
        const answer = await next()
        if (draining) event.res.headers.set("connection", "close")
        return answer
      })
      const server = serve(app, {
        port: options.port,
        hostname: options.host,
        silent: true,
        // Shutdown belongs to the scope, so that it comes before the database closes.
        gracefulShutdown: false,
        node: {
          // srvx binds exclusively unless told otherwise; in a cluster worker that would give each
          // worker a socket of its own (another port, under PORT=0) instead of the primary's
          // shared one, which hands connections out round-robin. Outside a cluster it changes nothing.
          exclusive: false,
          // A client that stalls mid-request is cut off; it never holds a database connection,
          // since bodies are read completely before any query runs.
          requestTimeout: options.requestTimeoutMs,
          headersTimeout: Math.min(options.requestTimeoutMs, 10_000),
          // Node checks those timeouts on this period (30 s by default, far longer than they are).
          connectionsCheckingInterval: Math.min(1_000, options.requestTimeoutMs)
        }
      })
      yield* Effect.promise(() => server.ready())
      const url = (server.url ?? `http://${options.host}:${options.port}/`).replace(/\/$/, "")
      return { server, listener: { url } satisfies Listener }
    }),
    ({ server }) =>
      Effect.gen(function* () {
        draining = true
        yield* Effect.promise(() => server.close()).pipe(
          Effect.timeoutOrElse({
            duration: options.grace ?? Duration.seconds(10),
            orElse: () => Effect.promise(() => server.close(true))
          })
        )
      })
  ).pipe(Effect.map(({ listener }) => listener))
}
