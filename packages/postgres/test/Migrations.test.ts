import { describe, expect, layer } from "@effect/vitest"
import { MIGRATIONS_TABLE, migrate } from "@taskport/postgres"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

for (const database of testDatabases()) {
  describe(`migrations on ${database.name}`, () => {
    layer(database.layer(), { timeout: 120_000 })((it) => {
      it.effect("R14: every migration is recorded once and a second run applies nothing", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          expect(yield* migrate).toEqual([])
          const applied = yield* sql<{
            migration_id: number
          }>`SELECT migration_id FROM ${sql(MIGRATIONS_TABLE)} ORDER BY 1`
          expect(applied.map((row) => row.migration_id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
        })
      )

      it.effect("R14: concurrent runs serialise on the advisory lock and both succeed", () =>
        Effect.gen(function* () {
          const results = yield* Effect.all([migrate, migrate, migrate], { concurrency: "unbounded" })
          expect(results).toEqual([[], [], []])
        })
      )
    })
  })
}
