/**
 * `taskport serve`: applies migrations and serves the REST API and `/mcp` until the process
 * is told to stop, then drains in-flight requests and closes the database, in that order.
 */
import * as Path from "node:path"
import { TokenMinter } from "@taskport/auth"
import { Effect, Option } from "effect"
import * as Announce from "../Announce.ts"
import * as AppLayer from "../AppLayer.ts"
import * as Authentication from "../Authentication.ts"
import * as Server from "../Server.ts"
import type { ServerConfig } from "../ServerConfig.ts"

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
export const run = (config: ServerConfig, announce: Announce.Announce = Announce.stderr) =>
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
