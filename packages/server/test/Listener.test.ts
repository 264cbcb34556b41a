/**
 * The listener as a scoped resource on a real socket: closing its scope stops new
 * connections at once, lets a request in flight finish (told to close its connection),
 * and completes only after it; a request still running after the grace period is cut off
 * so the scope still closes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Listener } from "@taskport/server"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { H3 } from "h3"

const options = { port: 0, host: "127.0.0.1", requestTimeoutMs: 30_000 }

/** An app whose /slow answers only when `release` is completed; `entered` says it started. */
const slowApp = Effect.gen(function* () {
  const entered = yield* Deferred.make<void>()
  const release = yield* Deferred.make<void>()
  const app = new H3().get("/slow", async () => {
    Effect.runSync(Deferred.succeed(entered, undefined))
    await Effect.runPromise(Deferred.await(release))
    // A web Response, as the REST routes return: the drain header must reach it too.
    return new Response("finished")
  })
  return { app, entered, release }
})

const refused = (url: string) =>
  Effect.promise(() =>
    fetch(url).then(
      () => false,
      () => true
    )
  )

describe("Listener", () => {
  it.live("E6: closing the scope refuses new connections and waits for the request in flight", () =>
    Effect.gen(function* () {
      const { app, entered, release } = yield* slowApp
      const scope = yield* Scope.make()
      const { url } = yield* Listener.make(app, options).pipe(Scope.provide(scope))
      const inFlight = yield* Effect.promise(() => fetch(`${url}/slow`)).pipe(Effect.forkChild)
      yield* Deferred.await(entered)

      let closed = false
      const closing = yield* Scope.close(scope, Exit.void).pipe(
        Effect.tap(() => Effect.sync(() => (closed = true))),
        Effect.forkChild
      )
      // The listening socket closes at once; the connection in flight keeps the drain open.
      while (!(yield* refused(`${url}/slow`))) yield* Effect.yieldNow
      expect(closed).toBe(false)

      yield* Deferred.succeed(release, undefined)
      const response = yield* Fiber.join(inFlight)
      expect(response.status).toBe(200)
      expect(yield* Effect.promise(() => response.text())).toBe("finished")
      expect(response.headers.get("connection")).toBe("close")
      yield* Fiber.join(closing)
      expect(closed).toBe(true)
    })
  )

  it.live(
    "E7: interrupted, a request still running after the grace period is cut off and the scope closes",
    () =>
      Effect.gen(function* () {
        const { app, entered } = yield* slowApp
        const listening = yield* Deferred.make<string>()
        // As under `taskport serve`: the listener lives until its fiber is interrupted.
        const serving = yield* Listener.make(app, { ...options, grace: "100 millis" }).pipe(
          Effect.flatMap(({ url }) => Effect.andThen(Deferred.succeed(listening, url), Effect.never)),
          Effect.scoped,
          Effect.forkChild
        )
        const url = yield* Deferred.await(listening)
        const inFlight = yield* Effect.promise(() =>
          fetch(`${url}/slow`).then(
            () => "answered",
            () => "cut off"
          )
        ).pipe(Effect.forkChild)
        yield* Deferred.await(entered)
        yield* Fiber.interrupt(serving)
        expect(yield* Fiber.join(inFlight)).toBe("cut off")
        expect(yield* refused(`${url}/slow`)).toBe(true)
      })
  )
})
