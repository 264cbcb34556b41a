/**
 * Chat keeps no state in a process. Independently built app instances (each with its own
 * runtime, layers, repositories and agent runner) over ONE database serve alternate turns of
 * one conversation: each turn's model request carries the turns other instances served; a
 * conversation continues on an instance built after the previous one was disposed; and
 * concurrent turns on one conversation, spread over two instances, keep a total order and
 * lose no message. Runs on the real Postgres (one schema, several connection pools) when
 * TEST_DATABASE_URL is set, and on PGlite, where the instances share one layer's SqlClient.
 */
import { describe, expect, it } from "@effect/vitest"
import { OfflineAgentRunner, OpenAiAgentRunner } from "@taskport/agent"
import { type AgentRunner, EventFeed } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import type { DatabaseLayer } from "@taskport/test-support/ChatHarness"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import * as ScriptedModel from "@taskport/test-support/ScriptedModel"
import { chatMessages, type RecordedRequest, strictArguments } from "@taskport/test-support/ScriptedModel"
import { postgresLayer } from "@taskport/test-support/TestDatabase"
import { Context, Effect, Layer, ManagedRuntime, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import type { H3 } from "h3"

type Json = Record<string, unknown>

interface Instance {
  readonly app: H3
  readonly dispose: () => Effect.Effect<void>
}

/** One app instance: its own runtime built from its own layers. */
const startInstance = (database: DatabaseLayer, runner: Layer.Layer<AgentRunner>) =>
  Effect.promise(async (): Promise<Instance> => {
    const runtime = ManagedRuntime.make(servicesLayer(database, runner))
    const app = await runtime.runPromise(makeApp())
    return { app, dispose: () => Effect.promise(() => runtime.dispose()) }
  })

/** How each instance reaches the one shared database. */
interface SharedDatabase {
  /** The first instance's database; it owns the database's lifetime. */
  readonly first: DatabaseLayer
  /** A later instance's database, once the first one is up. */
  readonly next: (first: Instance) => Effect.Effect<DatabaseLayer>
}

const pgliteShared = Effect.gen(function* () {
  const context = yield* Layer.build(PgDatabase.layerPglite())
  // Each instance builds its own repositories over the one PGlite connection.
  const fresh = (): DatabaseLayer =>
    Layer.merge(PgDatabase.repositories, Layer.succeed(EventFeed, Context.get(context, EventFeed))).pipe(
      Layer.provideMerge(Layer.succeed(SqlClient.SqlClient, Context.get(context, SqlClient.SqlClient)))
    )
  return { first: fresh(), next: () => Effect.succeed(fresh()) } satisfies SharedDatabase
})

const schemas = new WeakMap<Instance, string>()

const postgresShared = (url: string): SharedDatabase => ({
  first: postgresLayer(url, { maxConnections: 3 }),
  // The first instance made a throwaway schema; the others open pools of their own on it.
  next: (first) =>
    Effect.sync(() =>
      PgDatabase.layer({ url: Redacted.make(url), schema: schemas.get(first)!, maxConnections: 3 })
    )
})

const databases = (): ReadonlyArray<{
  readonly name: string
  readonly shared: Effect.Effect<SharedDatabase, unknown, Scope.Scope>
}> => {
  const url = process.env.TEST_DATABASE_URL
  const pglite = { name: "pglite", shared: pgliteShared }
  return url === undefined || url === ""
    ? [pglite]
    : [pglite, { name: "postgres", shared: Effect.succeed(postgresShared(url)) }]
}

/** Starts the first instance; on Postgres it also notes the schema the later ones must use. */
const startFirst = (database: SharedDatabase, runner: Layer.Layer<AgentRunner>) =>
  Effect.gen(function* () {
    const runtime = ManagedRuntime.make(servicesLayer(database.first, runner))
    const app = yield* Effect.promise(() => runtime.runPromise(makeApp()))
    const schema = yield* Effect.promise(() =>
      runtime.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ schema: string }>`SELECT current_schema() AS schema`
          return rows[0]!.schema
        })
      )
    )
    const instance: Instance = { app, dispose: () => Effect.promise(() => runtime.dispose()) }
    schemas.set(instance, schema)
    return instance
  })

const modelRunner = (model: ScriptedModel.ScriptedModel) =>
  OpenAiAgentRunner.layer({ apiKey: "test-key", baseURL: model.baseURL, maxRetries: 0 })

const createArgs = (title: string) => strictArguments("todo_create", { title })

const chat = (instance: Instance, token: string, message: string, conversationId?: string) =>
  Effect.map(
    send(instance.app, "POST", "/api/v1/chat", {
      token,
      body: conversationId === undefined ? { message } : { message, conversation_id: conversationId }
    }),
    (reply) => {
      expect(reply.status, reply.text).toBe(200)
      return reply.body as { conversation_id: string; agent_response: string; tool_calls: Array<Json> }
    }
  )

const rolesAndContents = (request: RecordedRequest) =>
  chatMessages(request)
    .filter((m) => m.role !== "system")
    .map((m) => [
      m.role,
      m.content ?? (m.tool_calls as Array<{ function: { name: string } }>)[0]!.function.name
    ])

for (const { name, shared } of databases()) {
  describe(`stateless chat on ${name}`, () => {
    it.effect(
      "C19: instances alternate turns over one database and each model request carries the other instances' turns",
      () =>
        Effect.gen(function* () {
          const database = yield* shared
          const model = yield* ScriptedModel.scoped
          const a = yield* startFirst(database, modelRunner(model))
          const b = yield* startInstance(yield* database.next(a), modelRunner(model))
          const token = yield* tokenFor(`user-${crypto.randomUUID()}`)

          model.script([
            { toolCalls: [{ name: "todo_create", arguments: createArgs("Buy groceries") }] },
            { reply: "Added Buy groceries." }
          ])
          const first = yield* chat(a, token, "add a task to buy groceries")
          const conversation = first.conversation_id

          model.script([
            { toolCalls: [{ name: "todo_create", arguments: createArgs("Pay bills") }] },
            { reply: "Added Pay bills." }
          ])
          yield* chat(b, token, "I need to remember to pay bills", conversation)
          expect(rolesAndContents(model.requests[0]!)).toEqual([
            ["user", "add a task to buy groceries"],
            ["assistant", "todo_create"],
            ["tool", expect.stringContaining('"title":"Buy groceries"')],
            ["assistant", "Added Buy groceries."],
            ["user", "I need to remember to pay bills"]
          ])

          model.script([
            {
              toolCalls: [
                {
                  name: "todo_list",
                  arguments: strictArguments("todo_list")
                }
              ]
            },
            (request) => ({
              reply: (ScriptedModel.lastToolResult(request) as { items: Array<{ title: string }> }).items
                .map((task) => task.title)
                .join(", ")
            })
          ])
          const listed = yield* chat(a, token, "show me all my tasks", conversation)
          expect(listed.agent_response).toBe("Pay bills, Buy groceries")

          // The instance that served the last turn goes away; a new one picks the conversation up.
          yield* b.dispose()
          const c = yield* startInstance(yield* database.next(a), modelRunner(model))
          model.script([{ reply: "Both are pending." }])
          const resumed = yield* chat(c, token, "what's pending?", conversation)
          expect(resumed.agent_response).toBe("Both are pending.")
          expect(
            rolesAndContents(model.requests[0]!)
              .filter(([role]) => role === "user")
              .map(([, content]) => content)
          ).toEqual([
            "add a task to buy groceries",
            "I need to remember to pay bills",
            "show me all my tasks",
            "what's pending?"
          ])
          const messages = yield* send(a.app, "GET", `/api/v1/conversations/${conversation}/messages`, {
            token
          })
          expect(((messages.body as Json).items as Array<Json>).map((m) => m.content)).toEqual([
            "add a task to buy groceries",
            "Added Buy groceries.",
            "I need to remember to pay bills",
            "Added Pay bills.",
            "show me all my tasks",
            "Pay bills, Buy groceries",
            "what's pending?",
            "Both are pending."
          ])
          yield* c.dispose()
          yield* a.dispose()
        }),
      120_000
    )

    it.effect(
      "C20: concurrent turns on one conversation over two instances keep a total order and lose nothing",
      () =>
        Effect.gen(function* () {
          const database = yield* shared
          const a = yield* startFirst(database, OfflineAgentRunner.layer)
          const b = yield* startInstance(yield* database.next(a), OfflineAgentRunner.layer)
          const token = yield* tokenFor(`user-${crypto.randomUUID()}`)
          const { conversation_id: conversation } = yield* chat(a, token, "show me all my tasks")

          const count = 10
          const replies = yield* Effect.all(
            Array.from({ length: count }, (_, k) =>
              chat(k % 2 === 0 ? a : b, token, `add a task to item ${k}`, conversation)
            ),
            { concurrency: "unbounded" }
          )
          expect(new Set(replies.map((reply) => reply.conversation_id))).toEqual(new Set([conversation]))

          const page = yield* send(b.app, "GET", `/api/v1/conversations/${conversation}/messages?limit=100`, {
            token
          })
          const messages = (page.body as Json).items as Array<{ id: number; role: string; content: string }>
          expect(messages).toHaveLength(2 + 2 * count)
          expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length)
          // Paging through the conversation gives the same order as one listing.
          let cursor: string | null = null
          const paged: Array<number> = []
          do {
            const query: string =
              cursor === null ? "?limit=3" : `?limit=3&cursor=${encodeURIComponent(cursor)}`
            const reply = yield* send(
              a.app,
              "GET",
              `/api/v1/conversations/${conversation}/messages${query}`,
              { token }
            )
            const body = reply.body as { items: Array<{ id: number }>; next_cursor: string | null }
            paged.push(...body.items.map((m) => m.id))
            cursor = body.next_cursor
          } while (cursor !== null)
          expect(paged).toEqual(messages.map((m) => m.id))

          for (let k = 0; k < count; k++) {
            const asked = messages.findIndex(
              (m) => m.role === "user" && m.content === `add a task to item ${k}`
            )
            const answered = messages.findIndex(
              (m) => m.role === "assistant" && new RegExp(`^Added task #\\d+ "Item ${k}"\\.$`).test(m.content)
            )
            expect(asked, `item ${k}`).toBeGreaterThan(0)
            expect(answered, `item ${k}`).toBeGreaterThan(asked)
            expect(messages.filter((m) => m.content === `add a task to item ${k}`)).toHaveLength(1)
          }
          const tasks = yield* send(a.app, "GET", "/api/v1/tasks?limit=100", { token })
          expect(((tasks.body as Json).items as Array<Json>).map((t) => t.title).sort()).toEqual(
            Array.from({ length: count }, (_, k) => `Item ${k}`).sort()
          )
          yield* b.dispose()
          yield* a.dispose()
        }),
      120_000
    )
  })
}
