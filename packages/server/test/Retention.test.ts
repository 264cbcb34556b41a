/**
 * The retention sweep of a serving process on every test database: events older than
 * `EVENT_RETENTION_DAYS` go with the expired trash and keys; younger ones stay.
 */
import { describe, expect, layer } from "@effect/vitest"
import { CurrentUser, EventLog, TodoService, TodoToolsLayer } from "@taskport/core"
import { Retention, ServerConfig } from "@taskport/server"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

for (const database of testDatabases()) {
  describe(`retention sweep on ${database.name}`, () => {
    layer(TodoToolsLayer.pipe(Layer.provideMerge(database.layer())), { timeout: 120_000 })((it) => {
      it.effect("V7: the sweep removes events older than EVENT_RETENTION_DAYS and keeps the rest", () =>
        Effect.gen(function* () {
          const config = yield* ServerConfig.load({ EVENT_RETENTION_DAYS: "3" })
          expect(config.eventRetentionDays).toBe(3)
          const todos = yield* TodoService
          const sql = yield* SqlClient.SqlClient
          const user = newUser()
          const task = yield* todos
            .create({ title: "Kept a while" })
            .pipe(Effect.provideService(CurrentUser, { id: user }))
          yield* todos
            .update({ id: task.id, title: "Newer" })
            .pipe(Effect.provideService(CurrentUser, { id: user }))
          yield* sql`UPDATE events SET occurred_at = now() - interval '4 days' WHERE user_id = ${user} AND position = 1`
          yield* sql`UPDATE events SET occurred_at = now() - interval '2 days' WHERE user_id = ${user} AND position = 2`
          yield* Retention.sweep.pipe(Effect.provide(Retention.layer(config)))
          const left = yield* Effect.flatMap(Effect.service(EventLog), (log) =>
            log.list(user, { order: "asc", limit: 10 })
          )
          expect(left.items.map((event) => event.position)).toEqual([2])
        })
      )
    })
  })
}
