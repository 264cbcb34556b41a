/**
 * The one choice of database every command takes: Postgres when DATABASE_URL is set (with
 * the configured pool size), the embedded database in the resolved data directory
 * otherwise.
 */
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Database, ServerConfig } from "@taskport/server"
import { Effect, Redacted } from "effect"

describe("Database.choose", () => {
  it.effect("E8: DATABASE_URL picks Postgres, its absence the embedded database in the data directory", () =>
    Effect.gen(function* () {
      const postgres = Database.choose(
        yield* ServerConfig.load({
          DATABASE_URL: "postgres://u:secret@db.example:6543/tasks",
          DATABASE_POOL_SIZE: "4"
        })
      )
      expect(postgres._tag).toBe("Postgres")
      if (postgres._tag === "Postgres") {
        expect(postgres.poolSize).toBe(4)
        expect(Database.describeUrl(postgres.url)).toBe("db.example:6543/tasks")
        expect(Redacted.value(postgres.url)).toBe("postgres://u:secret@db.example:6543/tasks")
      }
      const embedded = Database.choose(yield* ServerConfig.load({ TASKPORT_DATA_DIR: "some/dir" }))
      expect(embedded).toMatchObject({ _tag: "Embedded", dataDir: Path.resolve("some/dir") })
    })
  )
})
