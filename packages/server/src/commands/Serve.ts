/**
 * `taskport serve`: applies migrations and serves the REST API and `/mcp` until the process
 * is told to stop, then drains in-flight requests and closes the database, in that order.
 * With WEB_CONCURRENCY above 1 this process becomes the primary of that many workers
 * (`Supervisor`), each of which runs this same command as a worker.
 */
import Cluster from "node:cluster"
import * as Path from "node:path"
import { TokenMinter } from "@taskport/auth"
import { Effect, Option } from "effect"
import * as Announce from "../Announce.ts"
import * as AppLayer from "../AppLayer.ts"
import * as Authentication from "../Authentication.ts"
import * as Server from "../Server.ts"
import type { ServerConfig } from "../ServerConfig.ts"
import * as Supervisor from "../Supervisor.ts"

/** In dev mode, a token for "demo" and a line to try it with. */
const devModeHelp = (config: ServerConfig, base: string) =>
  Effect.gen(function* () {
    const secret = Option.getOrThrow(Authentication.signingSecret(config))
    const token = yield* Effect.promise(() =>
      TokenMinter.mintToken({ secret, subject: "demo", ttlSeconds: 86_400 })
    )
    return [
      "Dev mode: no BETTER_AUTH_SECRET or BETTER_AUTH_JWKS_URL is set, so tokens are signed with a",
      `local secret kept in ${Path.resolve(config.dataDir, Authentication.DEV_SECRET_FILE)}. Not for production.`,
      `Token for user "demo" (valid 24 h): ${token}`,
      `Try: curl -H "Authorization: Bearer ${token}" ${base}/api/v1/tasks`,
      // The token travels in the fragment, which browsers never send, so no log records it.
      `Open the web app signed in: ${base}/#token=${token}`
    ].join("\n")
  })

/** Serves until interrupted; only an interruption (SIGTERM, SIGINT) ends it. */
export const run = (config: ServerConfig, announce: Announce.Announce = Announce.stderr) => {
  if (Cluster.isWorker) return serveAsWorker(config, announce)
  if (config.webConcurrency > 1) return Supervisor.run(config, announce)
  return serveHere(config, announce)
}

const serveHere = (config: ServerConfig, announce: Announce.Announce) =>
  Effect.gen(function* () {
    const { url } = yield* Server.serve(config)
    // Finalizers run last-added first: this line comes before the listener drains.
    yield* Effect.addFinalizer(() => Effect.sync(() => announce("Stopping: finishing in-flight requests...")))
    announce(`Taskport is listening on ${url} (docs at ${url}/docs)`)
    if (Authentication.isDevMode(config)) announce(yield* devModeHelp(config, url))
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.onInterrupt(() => Effect.sync(() => announce("Stopped."))),
    Effect.provide(AppLayer.layer(config, announce))
  )

/**
 * One worker of several: the primary applied the migrations and announces the address, so
 * a worker only serves; the first also says what the server runs on, once for all.
 */
const serveAsWorker = (config: ServerConfig, announce: Announce.Announce) => {
  const say: Announce.Announce = Supervisor.isSpokesman() ? announce : () => {}
  return Effect.gen(function* () {
    const { url } = yield* Server.serve(config)
    Supervisor.reportListening(url)
    if (Authentication.isDevMode(config)) say(yield* devModeHelp(config, url))
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(AppLayer.layer(config, say, { migrate: false })))
}
