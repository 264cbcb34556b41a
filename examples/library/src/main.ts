/**
 * Taskport as a library: the core's `TodoService` over the embedded PGlite database, with no
 * HTTP in between. Run with `node src/main.ts [data-dir]` (Node 22.18+ runs TypeScript);
 * without a directory the database lives in memory.
 */
import { CurrentUser, TodoService, UserId } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { Effect, Layer } from "effect"

const program = Effect.gen(function* () {
  const todos = yield* TodoService
  const milk = yield* todos.create({ title: "Buy milk", priority: "high", tags: ["Shopping"] })
  yield* todos.create({ title: "Call the plumber", due: "2026-12-01T09:00[Europe/Paris]" })
  yield* todos.create({ title: "Water the plants", due: "2026-11-30" })
  yield* todos.complete({ id: milk.id })
  const pending = yield* todos.list({ status: "pending", sort: "due" })
  console.log(`Completed: ${milk.title}`)
  for (const task of pending.items) console.log(`Pending: ${task.title} (due ${task.due})`)
})

const dataDir = process.argv[2]
const database = PgDatabase.layerPglite(dataDir === undefined ? {} : { dataDir })

await Effect.runPromise(
  program.pipe(
    // Identity normally comes from a verified token; a library caller states it directly.
    Effect.provideService(CurrentUser, { id: UserId.make("library-user") }),
    Effect.provide(TodoService.layer.pipe(Layer.provide(database)))
  )
)
