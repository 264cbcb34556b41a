/** `taskport migrate`: applies pending migrations to the configured database and reports them. */
import { migrate } from "@taskport/postgres"
import { Effect, Layer } from "effect"
import * as Announce from "../Announce.ts"
import * as Database from "../Database.ts"
import * as Logging from "../Logging.ts"
import type { ServerConfig } from "../ServerConfig.ts"

export const run = (config: ServerConfig, announce: Announce.Announce = Announce.stderr) =>
  Effect.gen(function* () {
    const applied = yield* migrate
    announce(
      applied.length === 0
        ? "The schema is up to date."
        : applied.map(([id, name]) => `Applied ${id}_${name}`).join("\n")
    )
    return 0
  }).pipe(
    Effect.provide(
      Layer.merge(
        // The migrations are this command's work, so the layer does not run them on its own.
        Database.layer(config, { migrate: false, maxConnections: 1, announce }),
        Logging.layer(config.logLevel)
      )
    )
  )
