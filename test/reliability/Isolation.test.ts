/**
 * Isolation as a property: random interleavings of operations by three users across REST,
 * MCP and chat (offline interpreter), each checked against a simple reference model. No user
 * may see, change or learn the existence of another user's task or conversation: foreign and
 * missing ids get identical answers, and every user's listing equals the model's view of
 * their tasks (cursors included). The trash, restores, permanent deletes and idempotency keys
 * and pending chat actions are covered too: a user's trash holds only their deleted tasks, no
 * one restores, purges or confirms another's, and the same key used by two users makes two tasks. The run is seeded;
 * ISOLATION_SEED=<n> replays it.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/client"
import { McpHttp } from "@taskport/mcp"
import { connect } from "@taskport/test-support/McpHarness"
import { makeApp, type Reply, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect } from "effect"
import fc from "fast-check"
import type { H3 } from "h3"

const SEED = Number(process.env.ISOLATION_SEED ?? Date.now() % 2_147_483_647)
const OPERATIONS = Number(process.env.ISOLATION_OPERATIONS ?? 10_000)
const USERS = ["alice", "bob", "carol"] as const
const MAX_TASKS_PER_USER = 40

type Surface = "rest" | "mcp" | "chat"
type TargetKind = "own" | "foreign" | "missing"

interface Operation {
  readonly user: number
  readonly surface: Surface
  readonly kind:
    | "create"
    | "read"
    | "update"
    | "complete"
    | "delete"
    | "list"
    | "conversation"
    | "restore"
    | "purge"
    | "trash"
    | "keyed"
  readonly target: TargetKind
  readonly pick: number
  readonly word: string
}

const operation: fc.Arbitrary<Operation> = fc.record({
  user: fc.integer({ min: 0, max: USERS.length - 1 }),
  surface: fc.constantFrom<Surface>("rest", "mcp", "chat"),
  kind: fc.constantFrom(
    "create",
    "create",
    "read",
    "update",
    "complete",
    "delete",
    "list",
    "conversation",
    "restore",
    "purge",
    "trash",
    "keyed"
  ),
  target: fc.constantFrom<TargetKind>("own", "own", "foreign", "missing"),
  pick: fc.nat(),
  word: fc.constantFrom("milk", "report", "plumber", "meeting", "taxes", "gym", "garden", "letters")
})

interface ModelTask {
  readonly owner: number
  title: string
  completed: boolean
  trashed: boolean
}

const MISSING_ID = 2_000_000_000

describe("isolation", () => {
  layer(servicesLayer(testDatabases()[0]!.layer()), { timeout: 600_000 })((it) => {
    it.effect(
      `I1 W15: ${OPERATIONS} random operations by 3 users over REST, MCP and chat (seed ${SEED}), trash, restores and keys included, never cross users`,
      () =>
        Effect.gen(function* () {
          const app: H3 = yield* makeApp()
          const handler = yield* McpHttp.make({})
          // Fresh user names per run, so a shared database holds nothing of theirs yet.
          const run = crypto.randomUUID().slice(0, 8)
          const names = USERS.map((user) => `${user}-${run}`)
          const tokens = yield* Effect.forEach(names, (name) => tokenFor(name))
          const clients: Array<Client> = yield* Effect.forEach(tokens, (token) =>
            connect(handler, token, "modern")
          )
          const tasks = new Map<number, ModelTask>()
          const conversations = new Map<string, number>()
          /** The task each user's idempotency key created first. */
          const keyed = new Map<string, number>()
          const counts: Record<string, number> = {}

          const rest = (
            user: number,
            method: string,
            path: string,
            body?: unknown,
            headers: Record<string, string> = {}
          ) =>
            Effect.runPromise(
              send(app, method, path, {
                token: tokens[user]!,
                headers,
                ...(body === undefined ? {} : { body })
              })
            )
          const mcp = async (user: number, name: string, args: Record<string, unknown>) =>
            (await clients[user]!.callTool({ name, arguments: args })) as {
              isError?: boolean
              content: Array<{ text?: string }>
              structuredContent?: Record<string, unknown>
            }
          const conversationOf = (user: number) => [...conversations].find(([, owner]) => owner === user)?.[0]
          const chat = async (user: number, message: string) => {
            const conversation = conversationOf(user)
            const reply = await rest(
              user,
              "POST",
              "/api/v1/chat",
              conversation === undefined ? { message } : { message, conversation_id: conversation }
            )
            expect(reply.status, reply.text).toBe(200)
            const body = reply.body as {
              conversation_id: string
              agent_response: string
              tool_calls: Array<{ name: string; is_error: boolean; result: unknown }>
              pending_action?: { id: string; summary: string }
            }
            conversations.set(body.conversation_id, user)
            return body
          }
          const ownIds = (user: number) =>
            [...tasks].filter(([, task]) => task.owner === user && !task.trashed).map(([id]) => id)
          const trashedIds = (user: number) =>
            [...tasks].filter(([, task]) => task.owner === user && task.trashed).map(([id]) => id)
          const chooseTarget = (op: Operation): { id: number; own: boolean } => {
            const own = op.kind === "restore" || op.kind === "purge" ? trashedIds(op.user) : ownIds(op.user)
            const foreign = [...tasks].filter(([, task]) => task.owner !== op.user).map(([id]) => id)
            if (op.target === "own" && own.length > 0) return { id: own[op.pick % own.length]!, own: true }
            if (op.target === "foreign" && foreign.length > 0)
              return { id: foreign[op.pick % foreign.length]!, own: false }
            return { id: MISSING_ID + (op.pick % 1000), own: false }
          }
          const notFound = (id: number) => `Task ${id} not found`
          // MCP gets the one failure description the agent gets too, hint included.
          const mcpNotFound = (id: number) => `${notFound(id)}; list the tasks to find the right id`
          const expectRestNotFound = (reply: Reply, id: number) => {
            expect(reply.status).toBe(404)
            expect(reply.body).toEqual({ error: { code: "not_found", message: notFound(id) } })
          }

          /** The user's whole listing (paged with `limit`) must be exactly the model's view. */
          const checkListing = async (user: number, limit = 100) => {
            const seen: Array<{ id: number; title: string; completed: boolean }> = []
            let cursor: string | null = null
            do {
              const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`
              const page = await rest(user, "GET", `/api/v1/tasks?limit=${limit}${query}`)
              expect(page.status).toBe(200)
              const body = page.body as {
                items: Array<{ id: number; title: string; completed: boolean }>
                next_cursor: string | null
              }
              seen.push(...body.items)
              cursor = body.next_cursor
            } while (cursor !== null)
            const expected = [...tasks]
              .filter(([, task]) => task.owner === user && !task.trashed)
              .map(([id, task]) => ({ id, title: task.title, completed: task.completed }))
              .sort((a, b) => b.id - a.id)
            expect(
              seen
                .map((t) => ({ id: t.id, title: t.title, completed: t.completed }))
                .sort((a, b) => b.id - a.id)
            ).toEqual(expected)
          }

          const step = async (op: Operation, index: number) => {
            const user = op.user
            const key = `${op.surface}:${op.kind}`
            counts[key] = (counts[key] ?? 0) + 1
            const mine = ownIds(user)
            if (op.kind === "create" && mine.length >= MAX_TASKS_PER_USER)
              return step({ ...op, kind: "delete", target: "own" }, index)
            switch (op.kind) {
              case "create": {
                const title = `${op.word} ${index}`
                if (op.surface === "rest") {
                  const reply = await rest(user, "POST", "/api/v1/tasks", { title })
                  expect(reply.status).toBe(201)
                  tasks.set((reply.body as { id: number }).id, {
                    owner: user,
                    title,
                    completed: false,
                    trashed: false
                  })
                } else if (op.surface === "mcp") {
                  const result = await mcp(user, "todo_create", { title })
                  expect(result.isError).toBeFalsy()
                  tasks.set(result.structuredContent!.id as number, {
                    owner: user,
                    title,
                    completed: false,
                    trashed: false
                  })
                } else {
                  const reply = await chat(user, `add a task to ${title}`)
                  expect(reply.tool_calls.map((call) => call.name)).toEqual(["todo_create"])
                  const created = reply.tool_calls[0]!.result as { id: number; title: string }
                  tasks.set(created.id, {
                    owner: user,
                    title: created.title,
                    completed: false,
                    trashed: false
                  })
                }
                return
              }
              case "read":
              case "update":
              case "complete":
              case "delete": {
                const target = chooseTarget(op)
                const before = tasks.get(target.id)
                const newTitle = `${op.word} renamed ${index}`
                if (op.surface === "rest") {
                  const reply =
                    op.kind === "read"
                      ? await rest(user, "GET", `/api/v1/tasks/${target.id}`)
                      : op.kind === "update"
                        ? await rest(user, "PATCH", `/api/v1/tasks/${target.id}`, { title: newTitle })
                        : op.kind === "complete"
                          ? await rest(user, "POST", `/api/v1/tasks/${target.id}/complete`)
                          : await rest(user, "DELETE", `/api/v1/tasks/${target.id}`)
                  if (!target.own) expectRestNotFound(reply, target.id)
                  else expect(reply.status).toBeLessThan(300)
                } else if (op.surface === "mcp") {
                  const name = {
                    read: "todo_read",
                    update: "todo_update",
                    complete: "todo_complete",
                    delete: "todo_delete"
                  }[op.kind]
                  const result = await mcp(
                    user,
                    name,
                    op.kind === "update" ? { id: target.id, title: newTitle } : { id: target.id }
                  )
                  if (!target.own) {
                    expect(result.isError).toBe(true)
                    expect(result.content.map((c) => c.text).join("")).toBe(mcpNotFound(target.id))
                  } else expect(result.isError).toBeFalsy()
                } else {
                  const message =
                    op.kind === "read" || op.kind === "update"
                      ? `change task ${target.id} to '${newTitle}'`
                      : op.kind === "complete"
                        ? `mark task ${target.id} as complete`
                        : `delete task ${target.id}`
                  let reply = await chat(user, message)
                  // A delete in chat waits for a yes, which carries out the stored call.
                  if (op.kind === "delete" && target.own) {
                    expect(reply.pending_action?.summary).toContain(`task ${target.id} `)
                    reply = await chat(user, "yes")
                  } else expect(reply.pending_action).toBeUndefined()
                  const call = reply.tool_calls.at(-1)!
                  if (!target.own) {
                    expect(call.is_error).toBe(true)
                    expect(JSON.stringify(call.result)).toContain(notFound(target.id))
                    expect(reply.agent_response).not.toMatch(new RegExp(before?.title ?? "\u0000", "i"))
                  } else {
                    expect(call.is_error).toBe(false)
                    // The interpreter may tidy the title (capitalising it); the stored one is the truth.
                    if (before !== undefined && (op.kind === "read" || op.kind === "update")) {
                      before.title = (call.result as { title: string }).title
                    }
                  }
                }
                if (target.own && before !== undefined) {
                  if (op.kind === "update" && op.surface !== "chat") before.title = newTitle
                  if (op.kind === "complete") before.completed = true
                  if (op.kind === "delete") before.trashed = true
                }
                // A foreign task is untouched.
                if (!target.own && before !== undefined) expect(tasks.get(target.id)).toEqual(before)
                return
              }
              case "restore":
              case "purge": {
                const target = chooseTarget(op)
                const before = tasks.get(target.id)
                const snapshot = before === undefined ? undefined : { ...before }
                // Chat restores in words; it does not purge, so a purge by chat goes through MCP.
                const surface = op.kind === "purge" && op.surface === "chat" ? "mcp" : op.surface
                if (surface === "rest") {
                  const reply =
                    op.kind === "restore"
                      ? await rest(user, "POST", `/api/v1/tasks/${target.id}/restore`)
                      : await rest(user, "DELETE", `/api/v1/tasks/${target.id}?permanent=true`)
                  if (!target.own) expectRestNotFound(reply, target.id)
                  else expect(reply.status, reply.text).toBeLessThan(300)
                } else if (surface === "mcp") {
                  const result =
                    op.kind === "restore"
                      ? await mcp(user, "todo_restore", { id: target.id })
                      : await mcp(user, "todo_delete", { id: target.id, permanent: true })
                  if (!target.own) {
                    expect(result.isError).toBe(true)
                    expect(result.content.map((c) => c.text).join("")).toBe(mcpNotFound(target.id))
                  } else expect(result.isError).toBeFalsy()
                } else {
                  const reply = await chat(user, `restore task ${target.id}`)
                  const call = reply.tool_calls.at(-1)!
                  expect(call.name).toBe("todo_restore")
                  expect(call.is_error).toBe(!target.own)
                  if (!target.own) {
                    expect(JSON.stringify(call.result)).toContain(notFound(target.id))
                    expect(reply.agent_response).not.toMatch(new RegExp(before?.title ?? "\u0000", "i"))
                  }
                }
                if (target.own && before !== undefined) {
                  if (op.kind === "restore") before.trashed = false
                  else tasks.delete(target.id)
                }
                if (!target.own && snapshot !== undefined) expect(tasks.get(target.id)).toEqual(snapshot)
                return
              }
              case "trash": {
                // The trash grows over a long run: MCP sees its first page, REST pages through it all.
                const expected = [...trashedIds(user)].sort()
                if (op.surface === "mcp") {
                  const result = await mcp(user, "todo_list", { status: "trashed", limit: 100 })
                  const ids = (result.structuredContent!.items as Array<{ id: number }>).map((t) => t.id)
                  expect(ids.length).toBe(Math.min(100, expected.length))
                  for (const id of ids) expect(expected).toContain(id)
                } else {
                  const ids: Array<number> = []
                  let cursor: string | null = null
                  do {
                    const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`
                    const page = await rest(user, "GET", `/api/v1/tasks?status=trashed&limit=100${query}`)
                    const body = page.body as { items: Array<{ id: number }>; next_cursor: string | null }
                    ids.push(...body.items.map((t) => t.id))
                    cursor = body.next_cursor
                  } while (cursor !== null)
                  expect(ids.sort()).toEqual(expected)
                }
                return
              }
              case "keyed": {
                // Keys are shared between users on purpose: each user's use of one is their own.
                const surface = op.surface === "chat" ? "rest" : op.surface
                const slot = op.pick % 4
                const key = `${surface}-key-${slot}`
                const title = `keyed ${surface} ${slot}`
                let id: number
                if (surface === "rest") {
                  const reply = await rest(
                    user,
                    "POST",
                    "/api/v1/tasks",
                    { title },
                    { "idempotency-key": key }
                  )
                  expect(reply.status, reply.text).toBe(201)
                  id = (reply.body as { id: number }).id
                } else {
                  const result = await mcp(user, "todo_create", { title, idempotency_key: key })
                  expect(result.isError).toBeFalsy()
                  id = result.structuredContent!.id as number
                }
                const first = keyed.get(`${user}|${key}`)
                if (first === undefined) {
                  // Another user's task is never what a key answers.
                  expect(tasks.has(id)).toBe(false)
                  keyed.set(`${user}|${key}`, id)
                  tasks.set(id, { owner: user, title, completed: false, trashed: false })
                } else expect(id).toBe(first)
                return
              }
              case "list": {
                if (op.surface === "mcp") {
                  const result = await mcp(user, "todo_list", { limit: 100 })
                  const ids = (result.structuredContent!.items as Array<{ id: number }>)
                    .map((t) => t.id)
                    .sort()
                  expect(ids).toEqual([...ownIds(user)].sort())
                } else if (op.surface === "chat") {
                  const reply = await chat(user, "show me all my tasks")
                  const listed = reply.tool_calls[0]!.result as { items: Array<{ id: number }> }
                  for (const task of listed.items) expect(tasks.get(task.id)?.owner).toBe(user)
                } else {
                  // Another user's cursor positions a listing but never reveals their rows.
                  const other = (user + 1) % USERS.length
                  const theirs = await rest(other, "GET", "/api/v1/tasks?limit=1")
                  const cursor = (theirs.body as { next_cursor: string | null }).next_cursor
                  if (cursor !== null) {
                    const page = await rest(
                      user,
                      "GET",
                      `/api/v1/tasks?limit=100&cursor=${encodeURIComponent(cursor)}`
                    )
                    for (const task of (page.body as { items: Array<{ id: number }> }).items)
                      expect(tasks.get(task.id)?.owner).toBe(user)
                  }
                }
                return
              }
              case "conversation": {
                const foreign = [...conversations].find(([, owner]) => owner !== user)?.[0]
                const id =
                  op.target === "foreign" && foreign !== undefined
                    ? foreign
                    : op.target === "own"
                      ? conversationOf(user)
                      : crypto.randomUUID()
                const listed = await rest(user, "GET", "/api/v1/conversations")
                const ids = (listed.body as { items: Array<{ id: string }> }).items.map((c) => c.id)
                expect(ids.every((c) => conversations.get(c) === user)).toBe(true)
                if (id === undefined) return
                const messages = await rest(user, "GET", `/api/v1/conversations/${id}/messages`)
                if (conversations.get(id) === user) expect(messages.status).toBe(200)
                else {
                  expect(messages.status).toBe(404)
                  expect((messages.body as { error: { code: string } }).error.code).toBe("not_found")
                  const continued = await rest(user, "POST", "/api/v1/chat", {
                    message: "show me all my tasks",
                    conversation_id: id
                  })
                  expect(continued.status).toBe(404)
                  // Nor can anyone answer a pending action in another's conversation.
                  const confirmed = await rest(user, "POST", "/api/v1/chat", {
                    conversation_id: id,
                    confirm: crypto.randomUUID()
                  })
                  expect(confirmed.status).toBe(404)
                }
                return
              }
            }
          }

          console.info(`I1: seed ${SEED}`)
          const operations = fc.sample(operation, { numRuns: OPERATIONS, seed: SEED })
          yield* Effect.promise(async () => {
            for (const [index, op] of operations.entries()) {
              try {
                await step(op, index)
                await checkListing(op.user)
                // Now and then, every user's listing through small pages, to exercise the cursors.
                if (index % 100 === 0)
                  for (let user = 0; user < USERS.length; user++) await checkListing(user, 7)
              } catch (error) {
                throw new Error(
                  `operation ${index} ${JSON.stringify(op)} failed (replay with ISOLATION_SEED=${SEED})`,
                  {
                    cause: error
                  }
                )
              }
            }
          })
          for (let user = 0; user < USERS.length; user++) yield* Effect.promise(() => checkListing(user, 7))
          console.info(
            `I1: ${OPERATIONS} operations, ${tasks.size} tasks and ${conversations.size} conversations at the end; by surface and kind: ${JSON.stringify(counts)}`
          )
        }).pipe(Effect.scoped),
      // A bound for a slow machine, not a speed target.
      900_000
    )
  })
})
