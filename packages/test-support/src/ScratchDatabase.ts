/**
 * Throwaway Postgres databases for process-level suites: each suite's servers get a database
 * of their own on the server named by TEST_DATABASE_URL, dropped afterwards, so runs never
 * collide and every server starts from an empty schema.
 */
import { PgDatabase } from "@taskport/postgres"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"

const withAdmin = <A>(url: string, run: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return yield* run(yield* SqlClient.SqlClient)
    }).pipe(Effect.provide(PgDatabase.layerClient({ url: Redacted.make(url), maxConnections: 1 })))
  )

export interface ScratchDatabase {
  readonly url: string
  readonly name: string
  /** Runs one query against the scratch database (outside any server), for checking state. */
  readonly query: <A extends object>(
    text: string,
    params?: ReadonlyArray<unknown>
  ) => Promise<ReadonlyArray<A>>
  readonly drop: () => Promise<void>
}

export const createScratchDatabase = async (baseUrl: string, label: string): Promise<ScratchDatabase> => {
  const name = `taskport_${label}_${process.pid}_${Date.now().toString(36)}`
  await withAdmin(baseUrl, (sql) => sql`CREATE DATABASE ${sql(name)}`)
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    url: url.href,
    name,
    query: <A extends object>(text: string, params: ReadonlyArray<unknown> = []) =>
      withAdmin(url.href, (sql) => sql.unsafe<A>(text, params)),
    drop: () =>
      withAdmin(baseUrl, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).then(
        () => undefined
      )
  }
}

/** The real Postgres for process-level suites, or undefined outside CI without one. */
export const realPostgresUrl = (): string | undefined => {
  const url = process.env.TEST_DATABASE_URL
  if (url === undefined || url === "") {
    if (process.env.CI === "true") throw new Error("CI=true but TEST_DATABASE_URL is not set (see .ci/run)")
    return undefined
  }
  return url
}
