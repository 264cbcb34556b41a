/**
 * Safe writes as properties of the use cases, on every test database: random interleavings
 * of writes, retries and stale preconditions, each checked against a reference model. A
 * retried keyed write never writes twice, a restore undoes exactly one delete, and a stale
 * `expected_version` never writes.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  CurrentUser,
  type Task,
  type TaskId,
  TodoService,
  type TodoServiceShape,
  TodoToolsLayer,
  type UserId,
  VersionConflict
} from "@taskport/core"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import fc from "fast-check"

const RUNS = Number(process.env.SAFE_WRITES_RUNS ?? 25)

type Write = "update" | "complete" | "reopen" | "delete" | "restore"

interface Step {
  readonly task: number
  readonly write: Write
  /** 0 passes the current version; anything else a stale one, that far off. */
  readonly staleness: number
  readonly withVersion: boolean
}

const step: fc.Arbitrary<Step> = fc.record({
  task: fc.nat({ max: 2 }),
  write: fc.constantFrom<Write>("update", "complete", "reopen", "delete", "restore"),
  staleness: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -3, max: 3 })),
  withVersion: fc.boolean()
})

/** What a user sees of a task, without the timestamps that every write moves. */
const shape = (task: Task) => ({
  id: task.id,
  title: task.title,
  completed: task.completed,
  version: task.version,
  tags: task.tags
})

for (const database of testDatabases()) {
  describe(`safe writes on ${database.name}`, () => {
    layer(TodoToolsLayer.pipe(Layer.provideMerge(database.layer())), { timeout: 300_000 })((it) => {
      const service = Effect.gen(function* () {
        const todos = yield* TodoService
        const context = yield* Effect.context<TodoService>()
        /** Runs use cases as a user of their own. */
        return (user: UserId) =>
          <A, E>(effect: (todos: TodoServiceShape) => Effect.Effect<A, E, CurrentUser>) =>
            Effect.runPromiseExitWith(context)(
              Effect.provideService(effect(todos), CurrentUser, { id: user })
            )
      })

      it.effect("W14: a keyed create retried at once and later, amid other writes, creates one task", () =>
        Effect.gen(function* () {
          const base = yield* service
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                fc.array(fc.record({ key: fc.nat({ max: 3 }), copies: fc.integer({ min: 1, max: 4 }) }), {
                  minLength: 1,
                  maxLength: 8
                }),
                async (plan) => {
                  // A fresh user per run keeps runs apart: keys are per user.
                  const user = newUser()
                  const run = base(user)
                  const firstIds = new Map<number, number>()
                  for (const { key, copies } of plan) {
                    const params = { title: `keyed ${key}`, idempotency_key: `key-${key}` }
                    // The copies race each other: one writes, the others replay or find it in flight.
                    const exits = await Promise.all(
                      Array.from({ length: copies }, () => run((todos) => todos.create(params)))
                    )
                    for (const exit of exits) {
                      if (Exit.isSuccess(exit)) {
                        const known = firstIds.get(key)
                        if (known === undefined) firstIds.set(key, exit.value.id)
                        else expect(exit.value.id).toBe(known)
                      } else {
                        expect(JSON.stringify(exit.cause)).toContain("IdempotencyKeyInFlight")
                      }
                    }
                    // An unkeyed write between retries does not disturb the keys.
                    await run((todos) => todos.create({ title: "unkeyed" }))
                  }
                  const listed = await run((todos) => todos.list({ limit: 100 }))
                  if (!Exit.isSuccess(listed)) throw new Error("listing failed")
                  const keyed = listed.value.items.filter((task) => task.title.startsWith("keyed "))
                  expect(keyed.map((task) => task.id).sort()).toEqual([...firstIds.values()].sort())
                }
              ),
              { numRuns: RUNS }
            )
          )
        })
      )

      it.effect(
        "W14: under random writes with current and stale versions, a stale one never writes and a restore undoes exactly one delete",
        () =>
          Effect.gen(function* () {
            const base = yield* service
            yield* Effect.promise(() =>
              fc.assert(
                fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
                  const user = newUser()
                  const run = base(user)
                  const model: Array<{ task: Task; trashed: boolean }> = []
                  for (const title of ["a", "b", "c"]) {
                    const exit = await run((todos) => todos.create({ title }))
                    if (!Exit.isSuccess(exit)) throw new Error("create failed")
                    model.push({ task: exit.value, trashed: false })
                  }
                  for (const [index, s] of steps.entries()) {
                    const entry = model[s.task]!
                    const id: TaskId = entry.task.id
                    const version = Math.max(1, entry.task.version + s.staleness)
                    const stale = s.withVersion && version !== entry.task.version
                    const expected = s.withVersion ? { expected_version: version } : {}
                    const exit = await run((todos) => {
                      switch (s.write) {
                        case "update":
                          return todos.update({ id, title: `t${index}`, ...expected })
                        case "complete":
                        case "reopen":
                          return todos.complete({ id, completed: s.write === "complete", ...expected })
                        case "delete":
                          return todos.delete({ id, ...expected })
                        case "restore":
                          return todos.restore({ id, ...expected })
                      }
                    })
                    const applies = s.write === "restore" ? entry.trashed : !entry.trashed
                    if (!applies) {
                      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("TaskNotFound")
                    } else if (stale) {
                      expect(Exit.isFailure(exit)).toBe(true)
                      if (Exit.isFailure(exit)) {
                        const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
                        expect(error).toBeInstanceOf(VersionConflict)
                        expect(error).toMatchObject({
                          expected_version: version,
                          current_version: entry.task.version
                        })
                      }
                    } else {
                      if (!Exit.isSuccess(exit)) throw new Error(`${s.write} failed: ${String(exit.cause)}`)
                      const after = exit.value
                      if (s.write === "delete") {
                        // Returned as it was; its version stays.
                        expect(shape(after)).toEqual(shape(entry.task))
                        entry.trashed = true
                      } else if (s.write === "restore") {
                        // Exactly the task before its delete, one version on.
                        expect(shape(after)).toEqual({
                          ...shape(entry.task),
                          version: entry.task.version + 1
                        })
                        entry.trashed = false
                        entry.task = after
                      } else {
                        entry.task = after
                      }
                    }
                    // The database agrees with the model: nothing stale was written anywhere.
                    const live = await run((todos) => todos.list({ limit: 100 }))
                    const trash = await run((todos) => todos.list({ limit: 100, status: "trashed" }))
                    if (!Exit.isSuccess(live) || !Exit.isSuccess(trash)) throw new Error("listing failed")
                    const byId = (tasks: ReadonlyArray<Task>) => tasks.map(shape).sort((a, b) => a.id - b.id)
                    expect(byId(live.value.items)).toEqual(
                      byId(model.filter((m) => !m.trashed).map((m) => m.task))
                    )
                    expect(byId(trash.value.items)).toEqual(
                      byId(model.filter((m) => m.trashed).map((m) => m.task))
                    )
                  }
                }),
                { numRuns: RUNS }
              )
            )
          })
      )

      it.effect(
        "W18: an atomic batch with a failing item changes nothing; an independent one equals its items one by one",
        () =>
          Effect.gen(function* () {
            const base = yield* service
            const item = fc.record({
              op: fc.constantFrom("update", "complete", "reopen", "delete", "restore"),
              task: fc.nat({ max: 2 }),
              stale: fc.boolean()
            })
            yield* Effect.promise(() =>
              fc.assert(
                fc.asyncProperty(
                  fc.array(item, { minLength: 1, maxLength: 8 }),
                  fc.boolean(),
                  async (plan, atomic) => {
                    const run = base(newUser())
                    const tasks: Array<Task> = []
                    for (const title of ["a", "b", "c"]) {
                      const exit = await run((todos) => todos.create({ title }))
                      if (!Exit.isSuccess(exit)) throw new Error("create failed")
                      tasks.push(exit.value)
                    }
                    const snapshot = async () => {
                      const live = await run((todos) => todos.list({ limit: 100 }))
                      const trash = await run((todos) => todos.list({ limit: 100, status: "trashed" }))
                      if (!Exit.isSuccess(live) || !Exit.isSuccess(trash)) throw new Error("listing failed")
                      return { live: live.value.items.map(shape), trash: trash.value.items.map(shape) }
                    }
                    const before = await snapshot()
                    const items = plan.map((p) => ({
                      op: p.op,
                      id: tasks[p.task]!.id,
                      ...(p.op === "update" ? { title: `t-${p.task}` } : {}),
                      ...(p.stale ? { expected_version: 99 } : {})
                    }))
                    const exit = await run((todos) => todos.batch({ items, atomic }))
                    if (!Exit.isSuccess(exit)) throw new Error(`batch failed: ${String(exit.cause)}`)
                    const { results, applied } = exit.value
                    expect(results).toHaveLength(items.length)
                    expect(applied).toBe(results.filter((r) => r.task !== null).length)
                    const failed = results.some((r) => r.failure !== null)
                    if (atomic && failed) {
                      expect(applied).toBe(0)
                      expect(await snapshot()).toEqual(before)
                    } else if (!atomic) {
                      // The same items one at a time, on a twin set of tasks, end in the same state.
                      const twin = base(newUser())
                      const copies: Array<Task> = []
                      for (const title of ["a", "b", "c"]) {
                        const made = await twin((todos) => todos.create({ title }))
                        if (!Exit.isSuccess(made)) throw new Error("create failed")
                        copies.push(made.value)
                      }
                      const oneByOne = []
                      for (const [index, p] of plan.entries()) {
                        const single = await twin((todos) =>
                          todos.batch({ items: [{ ...items[index]!, id: copies[p.task]!.id }] })
                        )
                        if (!Exit.isSuccess(single)) throw new Error("batch failed")
                        oneByOne.push(single.value.results[0]!.failure?.error ?? null)
                      }
                      expect(results.map((r) => r.failure?.error ?? null)).toEqual(oneByOne)
                    }
                  }
                ),
                { numRuns: RUNS }
              )
            )
          })
      )
    })
  })
}
