/**
 * The conformance suite of the TaskRepository and ConversationRepository ports. Every adapter
 * must pass it unchanged: it checks versioning, optimistic concurrency, per-user isolation,
 * filters, every sort in both orders against a reference computed here, keyset paging, and
 * the ordering of conversation messages under concurrent appends.
 *
 * All tests share one database; each works as users of its own, so they never see each
 * other's rows.
 */
import { describe, expect, layer } from "@effect/vitest"
import {
  type Conversation,
  ConversationId,
  ConversationRepository,
  type KeysetPosition,
  type NewMessage,
  type NewTask,
  parseDue,
  type SortOrder,
  type StoredDue,
  type Task,
  TaskId,
  type TaskQuery,
  TaskRepository,
  type TaskSort,
  type UpdateOutcome
} from "@taskport/core"
import type { PgDatabase } from "@taskport/postgres"
import { referenceOrder } from "@taskport/test-support/ReferenceOrder"
import { newTask } from "@taskport/test-support/Tasks"
import { newUser } from "@taskport/test-support/Users"
import { Duration, Effect, type Layer, Option } from "effect"
import { SqlClient } from "effect/sql"

const due = (text: string): StoredDue => Option.getOrThrow(parseDue(text))

const taskWith = (fields: Partial<NewTask> & { readonly title: string }): NewTask =>
  newTask(fields.title, fields)

const query = (fields: Partial<TaskQuery> = {}): TaskQuery => ({
  status: "all",
  sort: "created_at",
  order: "desc",
  limit: 100,
  ...fields
})

// Timestamps keep millisecond precision; waiting a little makes the next change observable.
const tick = Effect.sleep("3 millis")

// Ids that no test ever creates: the row is missing for everyone.
const MISSING_TASK = TaskId.make(2_147_483_647)
const MISSING_CONVERSATION = ConversationId.make("00000000-0000-4000-8000-000000000000")

const updatedTask = (outcome: UpdateOutcome): Task => {
  if (outcome._tag !== "Updated") throw new Error(`expected an updated task, got ${outcome._tag}`)
  return outcome.task
}

const SORTS: ReadonlyArray<TaskSort> = ["created_at", "updated_at", "due", "priority", "title"]
const ORDERS: ReadonlyArray<SortOrder> = ["asc", "desc"]

const message = (content: string, role: NewMessage["role"] = "user"): NewMessage => ({
  role,
  content,
  toolCalls: []
})

export const suite = (
  name: string,
  makeLayer: () => Layer.Layer<PgDatabase.Repositories | SqlClient.SqlClient, unknown>
): void => {
  describe(`repository conformance on ${name}`, () => {
    layer(makeLayer(), { timeout: 120_000, excludeTestServices: true })((it) => {
      // --- tasks: writes ---------------------------------------------------------------

      it.effect("R3: an inserted task is found again with every field as written", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const inserted = yield* repo.insert(
            owner,
            taskWith({
              title: "Plan the trip",
              description: "Book trains",
              priority: "high",
              due: due("2026-12-01T09:00[Europe/Paris]"),
              tags: ["travel", "family"]
            })
          )
          expect(inserted).toMatchObject({
            title: "Plan the trip",
            description: "Book trains",
            priority: "high",
            completed: false,
            completed_at: null,
            due: "2026-12-01T09:00:00.000+01:00[Europe/Paris]",
            tags: ["travel", "family"]
          })
          expect(yield* repo.find(owner, inserted.id)).toEqual(Option.some(inserted))
          expect(yield* repo.find(owner, MISSING_TASK)).toEqual(Option.none())
        })
      )

      it.effect("R2: version starts at 1 and grows by 1 on every change, and updated_at moves", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const v1 = yield* repo.insert(owner, taskWith({ title: "Versioned" }))
          expect(v1.version).toBe(1)
          expect(v1.updated_at).toBe(v1.created_at)

          yield* tick
          const v2 = yield* repo.update(owner, v1.id, { title: "Versioned again" }, undefined)
          assertUpdated(v2)
          expect(v2.task.version).toBe(2)
          expect(v2.task.updated_at > v1.updated_at).toBe(true)
          expect(v2.task.created_at).toBe(v1.created_at)

          yield* tick
          const v3 = updatedTask(yield* repo.setCompleted(owner, v1.id, true, undefined))
          expect(v3.version).toBe(3)
          expect(v3.updated_at > v2.task.updated_at).toBe(true)

          // Setting the state the task is already in is not a change.
          yield* tick
          expect(yield* repo.setCompleted(owner, v1.id, true, undefined)).toEqual({
            _tag: "Updated",
            task: v3
          })

          yield* tick
          const v4 = updatedTask(yield* repo.setCompleted(owner, v1.id, false, undefined))
          expect(v4.version).toBe(4)
          expect(v4.updated_at > v3.updated_at).toBe(true)
        })
      )

      it.effect("R4: a patch changes only its keys; null clears description and due", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const task = yield* repo.insert(
            owner,
            taskWith({
              title: "Patch me",
              description: "notes",
              priority: "low",
              due: due("2026-12-24"),
              tags: ["a", "b"]
            })
          )
          const priorityOnly = yield* repo.update(owner, task.id, { priority: "high" }, undefined)
          assertUpdated(priorityOnly)
          expect(priorityOnly.task).toMatchObject({
            title: "Patch me",
            description: "notes",
            priority: "high",
            due: "2026-12-24",
            tags: ["a", "b"]
          })

          const cleared = yield* repo.update(
            owner,
            task.id,
            { description: null, due: null, tags: [] },
            undefined
          )
          assertUpdated(cleared)
          expect(cleared.task).toMatchObject({ title: "Patch me", description: null, due: null, tags: [] })
          // The instant used for filtering is cleared along with the text.
          const dueSoon = yield* repo.list(owner, query({ dueBefore: Date.UTC(2100, 0, 1) }))
          expect(dueSoon.items).toEqual([])
        })
      )

      it.effect("R5: a stale expected version is a conflict and writes nothing", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const task = yield* repo.insert(owner, taskWith({ title: "Contended" }))
          const first = yield* repo.update(owner, task.id, { title: "First writer" }, 1)
          assertUpdated(first)
          const before = yield* repo.find(owner, task.id)

          const stale = yield* repo.update(owner, task.id, { title: "Second writer", priority: "high" }, 1)
          expect(stale).toEqual({ _tag: "Conflict", currentVersion: 2 })
          expect(yield* repo.find(owner, task.id)).toEqual(before)

          const fresh = yield* repo.update(owner, task.id, { title: "Second writer" }, 2)
          assertUpdated(fresh)
          expect(fresh.task.version).toBe(3)
        })
      )

      // A delete now moves the task to the trash; it is gone from reads and listings as before.
      it.effect("R6 W1: delete returns the task as it was and moves it to the trash", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const task = yield* repo.insert(owner, taskWith({ title: "Short-lived", tags: ["x"] }))
          const completed = updatedTask(yield* repo.setCompleted(owner, task.id, true, undefined))
          expect(yield* repo.delete(owner, task.id, undefined)).toEqual({ _tag: "Updated", task: completed })
          expect(yield* repo.find(owner, task.id)).toEqual(Option.none())
          expect(yield* repo.delete(owner, task.id, undefined)).toEqual({ _tag: "NotFound" })
          expect(yield* repo.update(owner, task.id, { title: "x" }, undefined)).toEqual({ _tag: "NotFound" })
          expect(yield* repo.setCompleted(owner, task.id, false, undefined)).toEqual({ _tag: "NotFound" })
          expect((yield* repo.list(owner, query())).items).toEqual([])
          expect((yield* repo.list(owner, query({ status: "completed" }))).items).toEqual([])
          expect((yield* repo.list(owner, query({ status: "trashed" }))).items).toEqual([completed])
        })
      )

      it.effect(
        "W2: restore brings the task back as it was at version + 1; purge removes a trashed one",
        () =>
          Effect.gen(function* () {
            const repo = yield* TaskRepository
            const owner = newUser()
            const task = yield* repo.insert(owner, taskWith({ title: "Undo me", tags: ["y"] }))
            // Only a trashed task can be restored or purged.
            expect(yield* repo.restore(owner, task.id, undefined)).toEqual({ _tag: "NotFound" })
            expect(yield* repo.purge(owner, task.id, undefined)).toEqual({ _tag: "NotFound" })
            yield* repo.delete(owner, task.id, undefined)
            yield* tick
            const restored = updatedTask(yield* repo.restore(owner, task.id, undefined))
            expect(restored).toEqual({ ...task, version: task.version + 1, updated_at: restored.updated_at })
            expect(restored.updated_at > task.updated_at).toBe(true)
            expect(yield* repo.find(owner, task.id)).toEqual(Option.some(restored))
            expect((yield* repo.list(owner, query({ status: "trashed" }))).items).toEqual([])

            yield* repo.delete(owner, task.id, undefined)
            expect(yield* repo.purge(owner, task.id, undefined)).toEqual({ _tag: "Updated", task: restored })
            expect(yield* repo.restore(owner, task.id, undefined)).toEqual({ _tag: "NotFound" })
            expect((yield* repo.list(owner, query({ status: "trashed" }))).items).toEqual([])
          })
      )

      it.effect("W3: every write refuses a stale expected version and changes nothing", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const task = yield* repo.insert(owner, taskWith({ title: "Guarded" }))
          const stale = task.version + 5
          const conflict = { _tag: "Conflict", currentVersion: task.version }
          expect(yield* repo.update(owner, task.id, { title: "x" }, stale)).toEqual(conflict)
          expect(yield* repo.setCompleted(owner, task.id, true, stale)).toEqual(conflict)
          // Already open: the state is unchanged, but a stale version is still refused.
          expect(yield* repo.setCompleted(owner, task.id, false, stale)).toEqual(conflict)
          expect(yield* repo.delete(owner, task.id, stale)).toEqual(conflict)
          expect(yield* repo.find(owner, task.id)).toEqual(Option.some(task))
          yield* repo.delete(owner, task.id, task.version)
          expect(yield* repo.restore(owner, task.id, stale)).toEqual(conflict)
          expect(yield* repo.purge(owner, task.id, stale)).toEqual(conflict)
          expect((yield* repo.list(owner, query({ status: "trashed" }))).items).toEqual([task])
          expect(updatedTask(yield* repo.restore(owner, task.id, task.version)).version).toBe(
            task.version + 1
          )
        })
      )

      it.effect("W4: the retention sweep purges only tasks trashed longer ago than the retention", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const sql = yield* SqlClient.SqlClient
          const owner = newUser()
          const old = yield* repo.insert(owner, taskWith({ title: "Long gone" }))
          const recent = yield* repo.insert(owner, taskWith({ title: "Just deleted" }))
          const live = yield* repo.insert(owner, taskWith({ title: "Still here" }))
          yield* repo.delete(owner, old.id, undefined)
          yield* repo.delete(owner, recent.id, undefined)
          yield* sql`UPDATE tasks SET deleted_at = now() - interval '31 days' WHERE id = ${old.id}`
          expect(yield* repo.purgeTrash(Duration.days(30))).toBeGreaterThanOrEqual(1)
          // A second sweep (another process, say) finds nothing more of this user's to remove.
          yield* repo.purgeTrash(Duration.days(30))
          const trash = (yield* repo.list(owner, query({ status: "trashed" }))).items
          expect(trash.map((task) => task.id)).toEqual([recent.id])
          expect((yield* repo.list(owner, query())).items.map((task) => task.id)).toEqual([live.id])
        })
      )

      it.effect("R7: completing sets completed_at, repeating changes nothing, reopening clears it", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const task = yield* repo.insert(owner, taskWith({ title: "Finish me" }))
          const done = updatedTask(yield* repo.setCompleted(owner, task.id, true, undefined))
          expect(done.completed).toBe(true)
          expect(done.completed_at).not.toBeNull()
          yield* tick
          expect(yield* repo.setCompleted(owner, task.id, true, undefined)).toEqual({
            _tag: "Updated",
            task: done
          })
          const reopened = updatedTask(yield* repo.setCompleted(owner, task.id, false, undefined))
          expect(reopened).toMatchObject({ completed: false, completed_at: null, version: 3 })
          expect(yield* repo.setCompleted(owner, task.id, false, undefined)).toEqual({
            _tag: "Updated",
            task: reopened
          })
        })
      )

      // --- tasks: isolation --------------------------------------------------------------

      it.effect("R8 R15: another user's task behaves exactly like a missing one and is never listed", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const [alice, bob] = [newUser(), newUser()]
          const secret = yield* repo.insert(
            alice,
            taskWith({ title: "Alice's secret", priority: "high", due: due("2026-12-01"), tags: ["private"] })
          )
          yield* repo.insert(bob, taskWith({ title: "Bob's own", tags: ["private"] }))

          for (const id of [secret.id, MISSING_TASK]) {
            expect(yield* repo.find(bob, id)).toEqual(Option.none())
            expect(yield* repo.update(bob, id, { title: "hijacked" }, undefined)).toEqual({
              _tag: "NotFound"
            })
            // A version check must not reveal that the row exists.
            expect(yield* repo.update(bob, id, { title: "hijacked" }, 1)).toEqual({ _tag: "NotFound" })
            expect(yield* repo.setCompleted(bob, id, true, undefined)).toEqual({ _tag: "NotFound" })
            expect(yield* repo.setCompleted(bob, id, true, 1)).toEqual({ _tag: "NotFound" })
            expect(yield* repo.delete(bob, id, undefined)).toEqual({ _tag: "NotFound" })
            expect(yield* repo.delete(bob, id, 1)).toEqual({ _tag: "NotFound" })
          }

          const queries: ReadonlyArray<TaskQuery> = [
            query(),
            query({ status: "pending" }),
            query({ priority: "high" }),
            query({ tag: "private" }),
            query({ dueBefore: Date.UTC(2100, 0, 1) }),
            query({ text: "secret" }),
            ...SORTS.flatMap((sort) => ORDERS.map((order) => query({ sort, order })))
          ]
          for (const q of queries) {
            const ids = (yield* repo.list(bob, q)).items.map((task) => task.id)
            expect(ids).not.toContain(secret.id)
          }
          expect((yield* repo.list(bob, query())).items.map((task) => task.title)).toEqual(["Bob's own"])
          // Nothing Bob tried reached Alice's row.
          expect(yield* repo.find(alice, secret.id)).toEqual(Option.some(secret))
          // Nor can another user restore or purge a trashed task, or see it in their trash.
          yield* repo.delete(alice, secret.id, undefined)
          expect(yield* repo.restore(bob, secret.id, undefined)).toEqual({ _tag: "NotFound" })
          expect(yield* repo.purge(bob, secret.id, 1)).toEqual({ _tag: "NotFound" })
          expect((yield* repo.list(bob, query({ status: "trashed" }))).items).toEqual([])
          expect(updatedTask(yield* repo.restore(alice, secret.id, undefined)).version).toBe(2)
        })
      )

      // --- tasks: listing ------------------------------------------------------------------

      it.effect("R9: filters by status, priority, tag and strict due bounds", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const insert = (task: NewTask) => repo.insert(owner, task)
          const milk = yield* insert(
            taskWith({ title: "milk", priority: "high", due: due("2026-12-01"), tags: ["home", "shop"] })
          )
          const call = yield* insert(
            taskWith({
              title: "call",
              priority: "low",
              due: due("2026-12-01T09:00[Europe/Paris]"),
              tags: ["family"]
            })
          )
          const report = yield* insert(
            taskWith({ title: "report", due: due("2026-12-05T18:00[America/New_York]"), tags: ["work"] })
          )
          const rent = yield* insert(taskWith({ title: "rent", priority: "high", tags: ["home"] }))
          const book = yield* insert(taskWith({ title: "book", due: due("2026-11-30") }))
          yield* repo.setCompleted(owner, book.id, true, undefined)
          yield* repo.setCompleted(owner, rent.id, true, undefined)

          const ids = (fields: Partial<TaskQuery>) =>
            Effect.map(repo.list(owner, query({ ...fields, sort: "title", order: "asc" })), (slice) =>
              slice.items.map((task) => task.id)
            )
          const byTitle = (...tasks: ReadonlyArray<Task>) =>
            [...tasks].sort((a, b) => (a.title < b.title ? -1 : 1)).map((task) => task.id)

          expect(yield* ids({})).toEqual(byTitle(milk, call, report, rent, book))
          expect(yield* ids({ status: "pending" })).toEqual(byTitle(milk, call, report))
          expect(yield* ids({ status: "completed" })).toEqual(byTitle(rent, book))
          expect(yield* ids({ priority: "high" })).toEqual(byTitle(milk, rent))
          expect(yield* ids({ priority: "low" })).toEqual(byTitle(call))
          expect(yield* ids({ tag: "home" })).toEqual(byTitle(milk, rent))
          expect(yield* ids({ tag: "hom" })).toEqual([])
          expect(yield* ids({ status: "pending", tag: "home", priority: "high" })).toEqual(byTitle(milk))

          // 2026-12-01 is midnight UTC; 09:00 in Paris is 08:00 UTC. Bounds are strict.
          const midnight = due("2026-12-01").epochMillis
          const parisNine = due("2026-12-01T09:00[Europe/Paris]").epochMillis
          expect(yield* ids({ dueBefore: parisNine })).toEqual(byTitle(milk, book))
          expect(yield* ids({ dueBefore: midnight })).toEqual(byTitle(book))
          expect(yield* ids({ dueAfter: midnight })).toEqual(byTitle(call, report))
          expect(yield* ids({ dueAfter: midnight, dueBefore: due("2026-12-05").epochMillis })).toEqual(
            byTitle(call)
          )
          expect(yield* ids({ dueAfter: parisNine - 1, dueBefore: parisNine + 1 })).toEqual(byTitle(call))
        })
      )

      it.effect("R9: text search is case-insensitive over title and description, % and _ are literal", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const insert = (title: string, description: string | null = null) =>
            repo.insert(owner, taskWith({ title, description }))
          const percent = yield* insert("Pay 100% of rent")
          const hundreds = yield* insert("Pay 1000 invoices")
          const snake = yield* insert("rename snake_case fields")
          const snakeLike = yield* insert("rename snakeXcase fields")
          const described = yield* insert("Groceries", "Buy MILK and eggs")
          const slash = yield* insert("path a\\b")

          const ids = (text: string) =>
            Effect.map(repo.list(owner, query({ text, sort: "created_at", order: "asc" })), (slice) =>
              slice.items.map((task) => task.id)
            )
          expect(yield* ids("pay")).toEqual([percent.id, hundreds.id])
          expect(yield* ids("0%")).toEqual([percent.id])
          expect(yield* ids("%")).toEqual([percent.id])
          expect(yield* ids("e_c")).toEqual([snake.id])
          expect(yield* ids("_")).toEqual([snake.id])
          expect(yield* ids("milk")).toEqual([described.id])
          expect(yield* ids("\\")).toEqual([slash.id])
          expect(yield* ids("RENAME SNAKE")).toEqual([snake.id, snakeLike.id])
          expect(yield* ids("absent")).toEqual([])
        })
      )

      it.effect(
        "R10 R11: every sort in both orders matches the reference, and keyset pages continue it",
        () =>
          Effect.gen(function* () {
            const repo = yield* TaskRepository
            const owner = newUser()
            // Titles are plain lower-case words (and one capitalised duplicate) so that the
            // expected order does not depend on the database collation.
            const specs: ReadonlyArray<NewTask> = [
              taskWith({ title: "pear", priority: "low", due: due("2026-12-03") }),
              taskWith({ title: "Apple", priority: "high" }),
              taskWith({ title: "apple", priority: "medium", due: due("2026-12-01") }),
              // The same instant as 2026-12-01 (midnight UTC): ties are broken by id.
              taskWith({ title: "banana", priority: "high", due: due("2026-12-01T01:00[Europe/Paris]") }),
              taskWith({ title: "cherry", priority: "low" }),
              taskWith({
                title: "date",
                priority: "medium",
                due: due("2026-11-30T23:59[America/Los_Angeles]")
              }),
              taskWith({ title: "elder", priority: "high", due: due("2027-01-15") }),
              taskWith({ title: "fig", priority: "low", due: due("2026-12-01T09:00[Asia/Tokyo]") }),
              taskWith({ title: "grape", priority: "medium" }),
              taskWith({ title: "kiwi", priority: "high", due: due("2026-12-02") })
            ]
            const inserted: Array<Task> = []
            for (const spec of specs) inserted.push(yield* repo.insert(owner, spec))
            // Touch some tasks later so that updated_at differs from created_at order.
            for (const index of [4, 0, 7]) {
              yield* tick
              yield* repo.update(owner, inserted[index]!.id, { description: "touched" }, undefined)
            }
            yield* tick
            yield* repo.setCompleted(owner, inserted[2]!.id, true, undefined)
            const tasks = (yield* repo.list(owner, query())).items
            expect(tasks).toHaveLength(specs.length)

            for (const sort of SORTS) {
              for (const order of ORDERS) {
                const expected = referenceOrder(tasks, sort, order)
                const all = yield* repo.list(owner, query({ sort, order }))
                expect(
                  all.items.map((task) => task.id),
                  `${sort} ${order}`
                ).toEqual(expected)
                expect(all.next).toEqual(Option.none())

                const paged: Array<number> = []
                let after: KeysetPosition | undefined
                for (let page = 0; page < specs.length; page++) {
                  const slice = yield* repo.list(
                    owner,
                    query({ sort, order, limit: 3, ...(after ? { after } : {}) })
                  )
                  paged.push(...slice.items.map((task) => task.id))
                  if (Option.isNone(slice.next)) break
                  expect(slice.items).toHaveLength(3)
                  after = slice.next.value
                }
                expect(paged, `${sort} ${order} in pages of 3`).toEqual(expected)
              }
            }
          })
      )

      it.effect("R10: tasks without a due date come after dated ones in ascending due order", () =>
        Effect.gen(function* () {
          const repo = yield* TaskRepository
          const owner = newUser()
          const undated = yield* repo.insert(owner, taskWith({ title: "someday" }))
          const later = yield* repo.insert(owner, taskWith({ title: "later", due: due("2027-06-01") }))
          const sooner = yield* repo.insert(owner, taskWith({ title: "sooner", due: due("2026-12-01") }))
          const asc = yield* repo.list(owner, query({ sort: "due", order: "asc" }))
          expect(asc.items.map((task) => task.id)).toEqual([sooner.id, later.id, undated.id])
        })
      )

      // --- conversations -------------------------------------------------------------------

      it.effect("R16: a created conversation is found by its owner only", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const [owner, other] = [newUser(), newUser()]
          const conversation = yield* repo.create(owner, "Groceries for the week")
          expect(conversation.title).toBe("Groceries for the week")
          expect(conversation.updated_at).toBe(conversation.created_at)
          expect(yield* repo.find(owner, conversation.id)).toEqual(Option.some(conversation))
          expect(yield* repo.find(other, conversation.id)).toEqual(Option.none())
          expect(yield* repo.find(owner, MISSING_CONVERSATION)).toEqual(Option.none())
        })
      )

      it.effect("R16: conversations list newest first, page without gaps, and move up on a new message", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const owner = newUser()
          const created: Array<Conversation> = []
          for (let i = 0; i < 5; i++) {
            created.push(yield* repo.create(owner, `chat ${i}`))
            yield* tick
          }
          yield* repo.create(newUser(), "someone else's chat")

          const pageThrough = Effect.gen(function* () {
            const ids: Array<string> = []
            let after: { readonly updatedAt: string; readonly id: string } | undefined
            for (let page = 0; page < 10; page++) {
              const slice = yield* repo.list(owner, { limit: 2, ...(after ? { after } : {}) })
              ids.push(...slice.items.map((c) => c.id))
              if (Option.isNone(slice.next)) break
              after = slice.next.value
            }
            return ids
          })
          const newestFirst = created.map((c) => c.id).reverse()
          expect(yield* pageThrough).toEqual(newestFirst)

          yield* repo.append(owner, created[1]!.id, message("back to this one"))
          expect(yield* pageThrough).toEqual([
            created[1]!.id,
            ...newestFirst.filter((id) => id !== created[1]!.id)
          ])
        })
      )

      it.effect("R16: a page that reaches the end of the listing has no next position", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const owner = newUser()
          for (let i = 0; i < 3; i++) yield* repo.create(owner, `chat ${i}`)
          const exact = yield* repo.list(owner, { limit: 3 })
          expect(exact.items).toHaveLength(3)
          expect(exact.next).toEqual(Option.none())
          const partial = yield* repo.list(owner, { limit: 2 })
          expect(partial.items).toHaveLength(2)
          expect(Option.isSome(partial.next)).toBe(true)
        })
      )

      it.effect("R16: appended messages keep their order, content and tool calls", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const owner = newUser()
          const conversation = yield* repo.create(owner, "Tool use")
          const toolCalls = [
            {
              id: "call_1",
              name: "todo_create",
              arguments: { title: "Buy milk", tags: ["shop"] },
              result: { id: 7, title: "Buy milk" },
              is_error: false
            }
          ]
          const first = Option.getOrThrow(yield* repo.append(owner, conversation.id, message("add milk")))
          const second = Option.getOrThrow(
            yield* repo.append(owner, conversation.id, { role: "assistant", content: "Added.", toolCalls })
          )
          const third = Option.getOrThrow(yield* repo.append(owner, conversation.id, message("thanks")))
          expect(first.id < second.id && second.id < third.id).toBe(true)
          expect(second).toMatchObject({
            conversation_id: conversation.id,
            role: "assistant",
            content: "Added.",
            tool_calls: toolCalls
          })
          const stored = yield* repo.messages(owner, conversation.id, { limit: 10 })
          expect(stored.items).toEqual([first, second, third])
          expect(stored.next).toEqual(Option.none())

          const sql = yield* SqlClient.SqlClient
          const seqs = yield* sql<{
            seq: number
          }>`SELECT seq FROM messages WHERE conversation_id = ${conversation.id}::uuid ORDER BY id`
          expect(seqs.map((row) => row.seq)).toEqual([1, 2, 3])
        })
      )

      it.effect("R16: twenty concurrent appends are all stored with distinct consecutive positions", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const sql = yield* SqlClient.SqlClient
          const owner = newUser()
          const conversation = yield* repo.create(owner, "Busy")
          const appended = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) =>
              repo.append(owner, conversation.id, message(`message ${i}`))
            ),
            { concurrency: "unbounded" }
          )
          expect(appended.every(Option.isSome)).toBe(true)

          // The position is internal to the adapter, so it is read from the table itself.
          const rows = yield* sql<{
            seq: number
            content: string
          }>`SELECT seq, content FROM messages WHERE conversation_id = ${conversation.id}::uuid ORDER BY seq`
          expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
          expect(new Set(rows.map((row) => row.content)).size).toBe(20)

          const listed = yield* repo.messages(owner, conversation.id, { limit: 100 })
          expect(listed.items.map((m) => m.content)).toEqual(rows.map((row) => row.content))
        })
      )

      it.effect("R16: recent(n) returns the last n messages oldest first", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const owner = newUser()
          const conversation = yield* repo.create(owner, "Long chat")
          for (let i = 1; i <= 7; i++) {
            yield* repo.append(owner, conversation.id, message(`m${i}`, i % 2 === 0 ? "assistant" : "user"))
          }
          const contents = (messages: ReadonlyArray<{ readonly content: string }>) =>
            messages.map((m) => m.content)
          expect(contents(yield* repo.recent(owner, conversation.id, 3))).toEqual(["m5", "m6", "m7"])
          expect(contents(yield* repo.recent(owner, conversation.id, 100))).toEqual([
            "m1",
            "m2",
            "m3",
            "m4",
            "m5",
            "m6",
            "m7"
          ])
        })
      )

      it.effect("R16: messages page in order, from the start or after a given message", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const owner = newUser()
          // Another conversation's messages take ids too, so positions and ids differ.
          const noise = yield* repo.create(owner, "Noise")
          for (let i = 0; i < 4; i++) yield* repo.append(owner, noise.id, message(`noise ${i}`))
          const conversation = yield* repo.create(owner, "Paged")
          for (let i = 1; i <= 7; i++) yield* repo.append(owner, conversation.id, message(`m${i}`))

          const pages: Array<ReadonlyArray<string>> = []
          let after: number | undefined
          for (let page = 0; page < 10; page++) {
            const slice = yield* repo.messages(owner, conversation.id, {
              limit: 3,
              ...(after === undefined ? {} : { after })
            })
            pages.push(slice.items.map((m) => m.content))
            if (Option.isNone(slice.next)) break
            after = slice.next.value
          }
          expect(pages).toEqual([["m1", "m2", "m3"], ["m4", "m5", "m6"], ["m7"]])

          const all = (yield* repo.messages(owner, conversation.id, { limit: 100 })).items
          const afterThird = yield* repo.messages(owner, conversation.id, { limit: 100, after: all[2]!.id })
          expect(afterThird.items.map((m) => m.content)).toEqual(["m4", "m5", "m6", "m7"])
        })
      )

      it.effect("R16: deleting a conversation deletes its messages", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const sql = yield* SqlClient.SqlClient
          const owner = newUser()
          const conversation = yield* repo.create(owner, "Doomed")
          yield* repo.append(owner, conversation.id, message("one"))
          yield* repo.append(owner, conversation.id, message("two", "assistant"))
          expect(yield* repo.delete(owner, conversation.id)).toBe(true)
          expect(yield* repo.find(owner, conversation.id)).toEqual(Option.none())
          expect(yield* repo.delete(owner, conversation.id)).toBe(false)
          const left = yield* sql<{
            count: number
          }>`SELECT count(*)::int AS count FROM messages WHERE conversation_id = ${conversation.id}::uuid`
          expect(left[0]?.count).toBe(0)
        })
      )

      it.effect("R8 R15 R16: another user's conversation is missing for every operation", () =>
        Effect.gen(function* () {
          const repo = yield* ConversationRepository
          const [alice, bob] = [newUser(), newUser()]
          const conversation = yield* repo.create(alice, "Alice's chat")
          const original = Option.getOrThrow(yield* repo.append(alice, conversation.id, message("private")))

          for (const id of [conversation.id, MISSING_CONVERSATION]) {
            expect(yield* repo.find(bob, id)).toEqual(Option.none())
            expect(yield* repo.append(bob, id, message("intrusion"))).toEqual(Option.none())
            expect(yield* repo.recent(bob, id, 10)).toEqual([])
            expect(yield* repo.messages(bob, id, { limit: 10 })).toEqual({ items: [], next: Option.none() })
            expect(yield* repo.delete(bob, id)).toBe(false)
          }
          expect((yield* repo.list(bob, { limit: 100 })).items).toEqual([])

          // Alice's conversation is untouched by all of it.
          expect(Option.isSome(yield* repo.find(alice, conversation.id))).toBe(true)
          expect(yield* repo.recent(alice, conversation.id, 10)).toEqual([original])
        })
      )
    })
  })
}

function assertUpdated(
  outcome: UpdateOutcome
): asserts outcome is Extract<UpdateOutcome, { _tag: "Updated" }> {
  expect(outcome._tag).toBe("Updated")
}
