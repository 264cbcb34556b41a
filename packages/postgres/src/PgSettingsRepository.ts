/**
 * `SettingsRepository` over `effect/sql`: one row per user, written with an upsert so the
 * first change and every later one take the same path.
 */
import { SettingsRepository, traced, WeekStart } from "@taskport/core"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { repositoryErrors } from "./SqlSupport.ts"

const Row = Schema.Struct({ time_zone: Schema.NullOr(Schema.String), week_start: WeekStart })
const decodeRow = Schema.decodeUnknownExit(Row)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const toSettings = (row: unknown) =>
    Effect.map(Effect.orDie(decodeRow(row)), (r) => ({ timeZone: r.time_zone, weekStart: r.week_start }))

  return SettingsRepository.of(
    traced(SettingsRepository, "PgSettingsRepository", {
      get: (owner) =>
        sql`SELECT time_zone, week_start FROM user_settings WHERE user_id = ${owner}`.pipe(
          Effect.flatMap((rows) =>
            rows.length === 0 ? Effect.succeedNone : Effect.asSome(toSettings(rows[0]))
          ),
          repositoryErrors
        ),
      put: (owner, settings) =>
        sql`INSERT INTO user_settings (user_id, time_zone, week_start)
          VALUES (${owner}, ${settings.timeZone}, ${settings.weekStart})
          ON CONFLICT (user_id) DO UPDATE
          SET time_zone = EXCLUDED.time_zone, week_start = EXCLUDED.week_start, updated_at = now()
          RETURNING time_zone, week_start`.pipe(
          Effect.flatMap((rows) => toSettings(rows[0])),
          repositoryErrors
        )
    })
  )
})

/** `SettingsRepository` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<SettingsRepository, never, SqlClient.SqlClient> = Layer.effect(
  SettingsRepository,
  make
)
