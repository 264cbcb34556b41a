/**
 * Runs the repository conformance suite on every test database: embedded PGlite always,
 * and the real Postgres server whenever TEST_DATABASE_URL is set.
 */
import { describe, expect, it } from "@effect/vitest"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { suite } from "./RepositoryConformance.ts"

for (const database of testDatabases()) suite(database.name, database.layer)

describe("test database selection", () => {
  // testDatabases() reads the environment on each call, so it is checked under both settings.
  const withEnv = <A>(env: Record<string, string | undefined>, run: () => A): A => {
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]))
    const apply = (values: Record<string, string | undefined>) => {
      for (const [key, value] of Object.entries(values)) {
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
    }
    apply(env)
    try {
      return run()
    } finally {
      apply(saved)
    }
  }

  it("R19: a TEST_DATABASE_URL adds the real Postgres to every suite", () => {
    const names = withEnv(
      { TEST_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test", CI: undefined },
      () => testDatabases().map((database) => database.name)
    )
    expect(names).toEqual(["pglite", "postgres"])
  })

  it("R19: without it the suites run on PGlite alone, except under CI where it is an error", () => {
    const local = withEnv({ TEST_DATABASE_URL: undefined, CI: undefined }, () =>
      testDatabases().map((database) => database.name)
    )
    expect(local).toEqual(["pglite"])
    expect(() => withEnv({ TEST_DATABASE_URL: undefined, CI: "true" }, () => testDatabases())).toThrow(
      /TEST_DATABASE_URL/
    )
  })
})
