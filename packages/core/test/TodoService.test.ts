/**
 * The todo_* use cases of TodoService over the real repositories, on every test database:
 * defaults, partial updates, optimistic concurrency, completion, per-user isolation, filters,
 * sorts with their default orders, and cursor pagination.
 *
 * Parameters go in as a library caller writes them: each use case decodes its own input.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  type CreateTaskInput,
  CurrentUser,
  InvalidParameters,
  type ListTasksInput,
  type SortOrder,
  type Task,
  TaskId,
  type TaskPage,
  type TaskSort,
  TodoService,
  type UpdateTaskInput,
  type UserId
} from "@taskport/core"
import { referenceOrder } from "@taskport/test-support/ReferenceOrder"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { newUser } from "@taskport/test-support/Users"
import { Effect, Layer } from "effect"

const as =
  (id: UserId) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, CurrentUser, { id })

// The helpers hand the use cases loosely typed input on purpose: decoding it is their job.
const create = (params: Record<string, unknown>) =>
  Effect.gen(function* () {
    return yield* (yield* TodoService).create(params as CreateTaskInput)
  })
const update = (params: Record<string, unknown>) =>
  Effect.gen(function* () {
    return yield* (yield* TodoService).update(params as UpdateTaskInput)
  })
const list = (params: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    return yield* (yield* TodoService).list(params as ListTasksInput)
  })
const read = (id: TaskId) =>
  Effect.gen(function* () {
    return yield* (yield* TodoService).read({ id })
  })
const remove = (id: TaskId) =>
  Effect.gen(function* () {
    return yield* (yield* TodoService).delete({ id })
  })
const complete = (id: TaskId, completed?: boolean) =>
  Effect.gen(function* () {
    return yield* (yield* TodoService).complete(completed === undefined ? { id } : { id, completed })
  })

// Timestamps keep millisecond precision; waiting a little makes the next change observable.
const tick = Effect.sleep("3 millis")

const MISSING_TASK = TaskId.make(2_147_483_647)

const SORTS: ReadonlyArray<TaskSort> = ["created_at", "updated_at", "due", "priority", "title"]
const DEFAULT_ORDER: Record<TaskSort, SortOrder> = {
  created_at: "desc",
  updated_at: "desc",
  priority: "desc",
  due: "asc",
  title: "asc"
}

/** Every task of a listing, following next_cursor; `between` runs before each further page. */
const listAll = <E = never, R = never>(
  params: Record<string, unknown>,
  between: Effect.Effect<unknown, E, R> = Effect.void
) =>
  Effect.gen(function* () {
    const ids: Array<number> = []
    let cursor: string | null = null
    for (let page = 0; page < 100; page++) {
      const result: TaskPage = yield* list(cursor === null ? params : { ...params, cursor })
      ids.push(...result.items.map((task) => task.id))
      cursor = result.next_cursor
      if (cursor === null) return ids
      yield* between
    }
    throw new Error("the listing did not end")
  })

for (const database of testDatabases()) {
  describe(`TodoService on ${database.name}`, () => {
    const services = TodoService.layer.pipe(Layer.provideMerge(database.layer()))

    layer(services, { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect(
        "K3: the library path trims and lower-cases as every surface does; stored, returned and listed agree",
        () =>
          Effect.gen(function* () {
            const todos = yield* TodoService
            const created = yield* todos.create({ title: "  Buy milk  ", tags: ["Shopping", "shopping "] })
            expect(created).toMatchObject({ title: "Buy milk", tags: ["shopping"] })
            expect(yield* todos.read({ id: created.id })).toEqual(created)
            expect((yield* todos.list({ tag: "shopping" })).items).toEqual([created])
            expect((yield* todos.list({ tag: "Shopping" })).items).toEqual([created])
            const updated = yield* todos.update({ id: created.id, description: "", title: " Oat milk " })
            expect(updated).toMatchObject({ title: "Oat milk", description: null })
            expect(yield* todos.read({ id: created.id })).toEqual(updated)
          }).pipe(as(newUser()))
      )

      it.effect("K3: invalid library input is InvalidParameters naming the field, and writes nothing", () =>
        Effect.gen(function* () {
          const todos = yield* TodoService
          const failure = yield* Effect.flip(todos.create({ title: "   ", tags: ["x".repeat(40)] }))
          expect(failure).toBeInstanceOf(InvalidParameters)
          expect((failure as InvalidParameters).issues.map((issue) => issue.field).sort()).toEqual([
            "tags.0",
            "title"
          ])
          expect((yield* todos.list({})).items).toEqual([])
          const badId = yield* Effect.flip(todos.read({ id: 0 }))
          expect(badId).toBeInstanceOf(InvalidParameters)
        }).pipe(as(newUser()))
      )

      it.effect("R3: create applies the defaults and read returns the same task", () =>
        Effect.gen(function* () {
          const task = yield* create({ title: "Buy milk" })
          expect(task).toMatchObject({
            title: "Buy milk",
            description: null,
            priority: "medium",
            completed: false,
            completed_at: null,
            due: null,
            tags: [],
            version: 1
          })
          expect(task.id).toBeGreaterThan(0)
          expect(task.updated_at).toBe(task.created_at)
          expect(yield* read(task.id)).toEqual(task)
        }).pipe(as(newUser()))
      )

      it.effect("R1 R3: create stores every field in its normalised form", () =>
        Effect.gen(function* () {
          const task = yield* create({
            title: "  Plan the trip ",
            description: "Trains and hotel",
            priority: "high",
            due: "2026-12-01T09:00[Europe/Paris]",
            tags: ["Travel", "travel", " Family "]
          })
          expect(task).toMatchObject({
            title: "Plan the trip",
            description: "Trains and hotel",
            priority: "high",
            due: "2026-12-01T09:00:00.000+01:00[Europe/Paris]",
            tags: ["travel", "family"]
          })
          expect(yield* read(task.id)).toEqual(task)
          // An empty description is stored as no description.
          expect((yield* create({ title: "Empty notes", description: "" })).description).toBeNull()
        }).pipe(as(newUser()))
      )

      it.effect("R2: every change adds 1 to the version and moves updated_at", () =>
        Effect.gen(function* () {
          const v1 = yield* create({ title: "Counted" })
          yield* tick
          const v2 = yield* update({ id: v1.id, priority: "low" })
          yield* tick
          const v3 = yield* complete(v1.id)
          yield* tick
          const v4 = yield* complete(v1.id, false)
          expect([v1, v2, v3, v4].map((task) => task.version)).toEqual([1, 2, 3, 4])
          expect(v2.updated_at > v1.updated_at).toBe(true)
          expect(v3.updated_at > v2.updated_at).toBe(true)
          expect(v4.updated_at > v3.updated_at).toBe(true)
          expect(new Set([v1, v2, v3, v4].map((task) => task.created_at)).size).toBe(1)
        }).pipe(as(newUser()))
      )

      it.effect("R4: fields left out of an update stay as they are", () =>
        Effect.gen(function* () {
          const original = yield* create({
            title: "Original",
            description: "notes",
            priority: "high",
            due: "2026-12-24",
            tags: ["a", "b"]
          })
          const titled = yield* update({ id: original.id, title: "Renamed" })
          expect(titled).toEqual({
            ...original,
            title: "Renamed",
            version: 2,
            updated_at: titled.updated_at
          })
          const retagged = yield* update({ id: original.id, tags: ["C"], priority: "low" })
          expect(retagged).toMatchObject({
            title: "Renamed",
            description: "notes",
            priority: "low",
            due: "2026-12-24",
            tags: ["c"]
          })
          expect(yield* read(original.id)).toEqual(retagged)
        }).pipe(as(newUser()))
      )

      it.effect("R4: null or an empty string clears the description, null clears the due date", () =>
        Effect.gen(function* () {
          const withNotes = { title: "Clearable", description: "notes", due: "2026-12-24" }
          const a = yield* create(withNotes)
          expect(yield* update({ id: a.id, description: null })).toMatchObject({
            description: null,
            due: "2026-12-24"
          })
          const b = yield* create(withNotes)
          expect(yield* update({ id: b.id, description: "" })).toMatchObject({
            description: null,
            due: "2026-12-24"
          })
          const cleared = yield* update({ id: b.id, due: null })
          expect(cleared).toMatchObject({ description: null, due: null })
          // With the due date gone the task no longer matches a due filter.
          expect((yield* list({ due_before: "2100-01-01" })).items.map((task) => task.id)).toEqual([a.id])
        }).pipe(as(newUser()))
      )

      it.effect("R5: a stale expected_version is a VersionConflict and nothing is written", () =>
        Effect.gen(function* () {
          const task = yield* create({ title: "Shared" })
          const moved = yield* update({ id: task.id, title: "First writer", expected_version: 1 })
          expect(moved.version).toBe(2)

          const conflict = yield* Effect.flip(
            update({ id: task.id, title: "Second writer", tags: ["late"], expected_version: 1 })
          )
          expect(conflict._tag).toBe("VersionConflict")
          expect(conflict).toMatchObject({ id: task.id, expected_version: 1, current_version: 2 })
          expect(conflict.message).toContain("version 2")
          expect(yield* read(task.id)).toEqual(moved)

          expect((yield* update({ id: task.id, title: "Second writer", expected_version: 2 })).version).toBe(
            3
          )
        }).pipe(as(newUser()))
      )

      it.effect("R6: delete returns the deleted task, then it is not found", () =>
        Effect.gen(function* () {
          const task = yield* create({ title: "Doomed", tags: ["x"] })
          const done = yield* complete(task.id)
          expect(yield* remove(task.id)).toEqual(done)
          const afterwards = yield* Effect.flip(read(task.id))
          expect(afterwards._tag).toBe("TaskNotFound")
          expect(afterwards.message).toBe(`Task ${task.id} not found`)
          expect((yield* Effect.flip(remove(task.id)))._tag).toBe("TaskNotFound")
          expect((yield* list()).items).toEqual([])
        }).pipe(as(newUser()))
      )

      it.effect("R7: complete is idempotent, sets completed_at, and completed:false reopens", () =>
        Effect.gen(function* () {
          const task = yield* create({ title: "Do it" })
          const done = yield* complete(task.id)
          expect(done).toMatchObject({ completed: true, version: 2 })
          expect(done.completed_at).not.toBeNull()
          expect(Date.parse(done.completed_at!)).toBeGreaterThanOrEqual(Date.parse(task.created_at))
          yield* tick
          expect(yield* complete(task.id)).toEqual(done)
          expect(yield* complete(task.id, true)).toEqual(done)

          const reopened = yield* complete(task.id, false)
          expect(reopened).toMatchObject({ completed: false, completed_at: null, version: 3 })
          expect(yield* complete(task.id, false)).toEqual(reopened)
        }).pipe(as(newUser()))
      )

      it.effect("R8: user B gets TaskNotFound for A's task, exactly as for a missing one", () =>
        Effect.gen(function* () {
          const [alice, bob] = [newUser(), newUser()]
          const secret = yield* create({ title: "Alice's secret" }).pipe(as(alice))

          for (const id of [secret.id, MISSING_TASK]) {
            const failures = yield* Effect.all([
              Effect.flip(read(id)),
              Effect.flip(update({ id, title: "hijacked" })),
              // A version check must not reveal that the task exists.
              Effect.flip(update({ id, title: "hijacked", expected_version: 1 })),
              Effect.flip(complete(id)),
              Effect.flip(complete(id, false)),
              Effect.flip(remove(id))
            ]).pipe(as(bob))
            for (const failure of failures) {
              expect(failure._tag).toBe("TaskNotFound")
              expect(failure.message).toBe(`Task ${id} not found`)
            }
          }
          expect(yield* read(secret.id).pipe(as(alice))).toEqual(secret)
        })
      )

      it.effect("R8: user B never sees A's tasks in any listing", () =>
        Effect.gen(function* () {
          const [alice, bob] = [newUser(), newUser()]
          const open = yield* create({
            title: "shared words",
            priority: "high",
            tags: ["common"],
            due: "2026-12-01"
          }).pipe(as(alice))
          const done = yield* create({ title: "shared words done", tags: ["common"] }).pipe(as(alice))
          yield* complete(done.id).pipe(as(alice))
          const aliceIds = new Set<number>([open.id, done.id])
          const own = yield* create({ title: "shared words of Bob", tags: ["common"] }).pipe(as(bob))

          const listings: ReadonlyArray<Record<string, unknown>> = [
            {},
            { status: "pending" },
            { status: "completed" },
            { priority: "high" },
            { tag: "common" },
            { due_before: "2100-01-01" },
            { query: "shared" },
            ...SORTS.flatMap((sort) => [
              { sort, order: "asc" },
              { sort, order: "desc" }
            ])
          ]
          for (const params of listings) {
            const ids = yield* listAll({ ...params, limit: 1 }).pipe(as(bob))
            expect(
              ids.filter((id) => aliceIds.has(id)),
              JSON.stringify(params)
            ).toEqual([])
          }
          expect(yield* listAll({}).pipe(as(bob))).toEqual([own.id])
        })
      )

      it.effect("R9: list filters by status, priority, tag, due_before, due_after and query", () =>
        Effect.gen(function* () {
          const milk = yield* create({
            title: "Buy milk",
            priority: "high",
            tags: ["home", "shop"],
            due: "2026-12-01"
          })
          const call = yield* create({
            title: "Call mom",
            priority: "low",
            tags: ["family"],
            due: "2026-12-01T09:00[Europe/Paris]"
          })
          const report = yield* create({
            title: "Write report",
            tags: ["work"],
            due: "2026-12-05T18:00[America/New_York]"
          })
          const deposit = yield* create({
            title: "Pay 50% deposit",
            priority: "high",
            tags: ["home"],
            description: "ref landlord_2026"
          })
          const book = yield* create({
            title: "Read book",
            due: "2026-11-30",
            description: "the MILKMAN novel"
          })
          yield* complete(book.id)
          yield* complete(deposit.id)

          const ids = (params: Record<string, unknown>) =>
            Effect.map(list({ ...params, sort: "created_at", order: "asc" }), (page) =>
              page.items.map((task) => task.id)
            )
          expect(yield* ids({})).toEqual([milk.id, call.id, report.id, deposit.id, book.id])
          expect(yield* ids({ status: "all" })).toEqual([milk.id, call.id, report.id, deposit.id, book.id])
          expect(yield* ids({ status: "pending" })).toEqual([milk.id, call.id, report.id])
          expect(yield* ids({ status: "completed" })).toEqual([deposit.id, book.id])
          expect(yield* ids({ priority: "high" })).toEqual([milk.id, deposit.id])
          expect(yield* ids({ priority: "medium" })).toEqual([report.id, book.id])
          // Tag filters are decoded like tags: " HOME " is home.
          expect(yield* ids({ tag: " HOME " })).toEqual([milk.id, deposit.id])
          expect(yield* ids({ tag: "nothing" })).toEqual([])

          // 09:00 in Paris is 08:00 UTC, after midnight UTC on the same date. Bounds are strict.
          expect(yield* ids({ due_before: "2026-12-01T09:00[Europe/Paris]" })).toEqual([milk.id, book.id])
          expect(yield* ids({ due_before: "2026-12-01" })).toEqual([book.id])
          expect(yield* ids({ due_after: "2026-12-01" })).toEqual([call.id, report.id])
          expect(
            yield* ids({ due_after: "2026-12-01T08:59[Europe/Paris]", due_before: "2026-12-05" })
          ).toEqual([call.id])

          expect(yield* ids({ query: "MILK" })).toEqual([milk.id, book.id])
          expect(yield* ids({ query: "50%" })).toEqual([deposit.id])
          expect(yield* ids({ query: "d_2" })).toEqual([deposit.id])
          expect(yield* ids({ query: "d%2" })).toEqual([])

          expect(yield* ids({ status: "pending", tag: "home", priority: "high", query: "milk" })).toEqual([
            milk.id
          ])
        }).pipe(as(newUser()))
      )

      it.effect("R10: each sort's default order matches the reference; undated tasks come last by due", () =>
        Effect.gen(function* () {
          // Plain lower-case words (and one capitalised twin) keep the title order independent
          // of the database collation.
          const specs: ReadonlyArray<Record<string, unknown>> = [
            { title: "pear", priority: "low", due: "2026-12-03" },
            { title: "Apple", priority: "high" },
            { title: "apple", due: "2026-12-01" },
            { title: "banana", priority: "high", due: "2026-12-01T01:00[Europe/Paris]" },
            { title: "cherry", priority: "low" },
            { title: "date", due: "2026-11-30T23:59[America/Los_Angeles]" },
            { title: "elder", priority: "high", due: "2027-01-15" },
            { title: "fig", priority: "low", due: "2026-12-01T09:00[Asia/Tokyo]" }
          ]
          const created: Array<Task> = []
          for (const spec of specs) created.push(yield* create(spec))
          for (const index of [4, 0, 6]) {
            yield* tick
            yield* update({ id: created[index]!.id, description: "touched" })
          }
          const tasks = (yield* list({ limit: 100 })).items

          for (const sort of SORTS) {
            const expected = referenceOrder(tasks, sort, DEFAULT_ORDER[sort])
            const page = yield* list({ sort })
            expect(
              page.items.map((task) => task.id),
              sort
            ).toEqual(expected)
            expect(yield* listAll({ sort, order: DEFAULT_ORDER[sort] === "asc" ? "desc" : "asc" })).toEqual(
              [...expected].reverse()
            )
          }
          const byDue = (yield* list({ sort: "due" })).items
          expect(byDue.slice(-2).map((task) => task.due)).toEqual([null, null])
          expect(byDue.slice(0, -2).every((task) => task.due !== null)).toBe(true)
          // No sort given means newest first.
          expect((yield* list()).items.map((task) => task.id)).toEqual(
            referenceOrder(tasks, "created_at", "desc")
          )
        }).pipe(as(newUser()))
      )

      it.effect("R11: pages of 3 are complete and duplicate-free while tasks are added between pages", () =>
        Effect.gen(function* () {
          const titles = [
            "kiwi",
            "lime",
            "mango",
            "nut",
            "olive",
            "plum",
            "quince",
            "fig",
            "grape",
            "honeydew"
          ]
          // Every task created so far, including those added while a listing is paged.
          const known: Array<number> = []
          for (let i = 0; i < 20; i++) {
            const task = yield* create({
              title: `${titles[i % titles.length]} ${String.fromCharCode(97 + i)}`,
              priority: (["low", "medium", "high"] as const)[i % 3],
              ...(i % 4 === 0 ? {} : { due: `2026-12-${String(1 + (i % 9)).padStart(2, "0")}` })
            })
            known.push(task.id)
          }
          const addOne = Effect.gen(function* () {
            const task = yield* create({
              title: `${titles[known.length % titles.length]} new ${known.length}`,
              priority: "medium",
              due: "2026-12-04"
            })
            known.push(task.id)
          })
          for (const sort of SORTS) {
            const before = [...known]
            const seen = yield* listAll({ sort, limit: 3 }, addOne)
            expect(new Set(seen).size, `${sort}: no duplicates`).toBe(seen.length)
            expect(
              before.filter((id) => !seen.includes(id)),
              `${sort}: nothing missed`
            ).toEqual([])
            expect(
              seen.filter((id) => !known.includes(id)),
              `${sort}: nothing unknown`
            ).toEqual([])
            expect(known.length).toBeGreaterThan(before.length)
          }
        }).pipe(as(newUser()))
      )

      it.effect("R11: the page size defaults to 50", () =>
        Effect.gen(function* () {
          for (let i = 0; i < 51; i++) yield* create({ title: `task ${i}` })
          const first = yield* list()
          expect(first.items).toHaveLength(50)
          expect(first.next_cursor).not.toBeNull()
          const second = yield* list({ cursor: first.next_cursor })
          expect(second.items).toHaveLength(1)
          expect(second.next_cursor).toBeNull()
          expect((yield* list({ limit: 100 })).items).toHaveLength(51)
          expect((yield* list({ limit: 1 })).items).toHaveLength(1)
        }).pipe(as(newUser()))
      )

      it.effect("R11 R12: a malformed cursor, or one from another sort or order, fails naming cursor", () =>
        Effect.gen(function* () {
          for (let i = 0; i < 3; i++) yield* create({ title: `task ${i}` })
          const byTitle = yield* list({ sort: "title", limit: 1 })
          const cursor = byTitle.next_cursor!
          expect((yield* list({ sort: "title", limit: 1, cursor })).items).toHaveLength(1)

          const forged = Buffer.from(JSON.stringify({ s: "title" })).toString("base64url")
          for (const params of [
            { cursor: "not-a-cursor" },
            { cursor: forged },
            { sort: "priority", cursor },
            // Same default direction as title, so only the sort itself differs.
            { sort: "due", cursor },
            { sort: "title", order: "desc", cursor },
            { cursor }
          ]) {
            const error = yield* Effect.flip(list(params))
            expect(error._tag, JSON.stringify(params)).toBe("InvalidCursor")
            expect(error.message, JSON.stringify(params)).toContain("cursor: ")
          }
        }).pipe(as(newUser()))
      )
    })
  })
}
