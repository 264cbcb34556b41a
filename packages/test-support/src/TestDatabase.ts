/**
 * The databases every persistence-backed suite runs against: embedded PGlite always, and
 * the real Postgres named by TEST_DATABASE_URL when it is set. Each Postgres layer works in
 * a schema of its own, created for it and dropped afterwards, so runs never collide.
 * Under CI=true a missing TEST_DATABASE_URL is an error, never a silent skip.
 */
import { PgDatabase } from "@taskport/postgres"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"

export interface TestDatabase {
  readonly name: "pglite" | "postgres"
  /** Builds a fresh, migrated database holding both repositories. */
  readonly layer: () => Layer.Layer<PgDatabase.Persistence | SqlClient.SqlClient, unknown>
}

const databaseUrl = (): string | undefined => {
  const url = process.env.TEST_DATABASE_URL
  if (url === undefined || url === "") {
    if (process.env.CI === "true") {
      throw new Error(
        "CI=true but TEST_DATABASE_URL is not set: the real-Postgres suites must run in CI (see .ci/run)"
      )
    }
    return undefined
  }
  return url
}

let schemaCounter = 0

/** A migrated Postgres database in a throwaway schema. */
export const postgresLayer = (
  url: string,
  options: { readonly maxConnections?: number } = {}
): Layer.Layer<PgDatabase.Persistence | SqlClient.SqlClient, unknown> => {
  const schema = `taskport_test_${process.pid}_${Date.now().toString(36)}_${schemaCounter++}`
  const admin = PgDatabase.layerClient({ url: Redacted.make(url), maxConnections: 1 })
  const withAdmin = (run: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
    Effect.gen(function* () {
      yield* run(yield* SqlClient.SqlClient)
    }).pipe(Effect.provide(admin))
  const schemaLayer = Layer.effectDiscard(
    Effect.acquireRelease(
      withAdmin((sql) => sql`CREATE SCHEMA ${sql(schema)}`),
      () => Effect.ignore(withAdmin((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`))
    )
  )
  return PgDatabase.layer({
    url: Redacted.make(url),
    schema,
    maxConnections: options.maxConnections ?? 4
  }).pipe(Layer.provide(schemaLayer))
}

export const testDatabases = (): ReadonlyArray<TestDatabase> => {
  const url = databaseUrl()
  const pglite: TestDatabase = { name: "pglite", layer: () => PgDatabase.layerPglite() }
  if (url === undefined) return [pglite]
  return [pglite, { name: "postgres", layer: () => postgresLayer(url) }]
}
