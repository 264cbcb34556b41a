/**
 * The terminal chat against the REST app served on a real socket (PGlite, offline agent):
 * it streams each turn, shows tool calls and results as they happen, keeps the conversation
 * across lines, starts a new one on /new, and ends with a clear message and exit code when
 * the token is missing or refused or the server is gone.
 */
import { PassThrough } from "node:stream"
import { describe, expect, layer } from "@effect/vitest"
import { PgDatabase } from "@taskport/postgres"
import { ChatCommand } from "@taskport/server"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import * as ScriptedModel from "@taskport/test-support/ScriptedModel"
import { Effect } from "effect"
import { serve } from "h3"

type Json = Record<string, unknown>

/** Runs the chat with the given lines as input and returns its exit code and output. */
const converse = (options: { url: string; token?: string }, lines: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let text = ""
    output.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
    })
    input.end(lines.map((line) => `${line}\n`).join(""))
    const code = await ChatCommand.runChat({ ...options, input, output })
    return { code, text }
  })

describe("taskport chat", () => {
  layer(servicesLayer(PgDatabase.layerPglite()), { timeout: 120_000 })((it) => {
    const served = Effect.acquireRelease(
      Effect.gen(function* () {
        const app = yield* makeApp()
        const server = serve(app, { port: 0, hostname: "127.0.0.1", silent: true })
        yield* Effect.promise(() => server.ready())
        return { app, server, url: (server.url ?? "").replace(/\/$/, "") }
      }),
      ({ server }) => Effect.promise(() => server.close(true))
    )

    it.effect("C27: streams turns, shows tool calls as they happen and keeps the conversation", () =>
      Effect.gen(function* () {
        const { app, url } = yield* served
        const token = yield* tokenFor(`user-${crypto.randomUUID()}`)
        const { code, text } = yield* converse({ url, token }, [
          "add a task to buy groceries",
          "",
          "what's pending?",
          "/new",
          "delete task 99999999",
          "/exit",
          "never sent"
        ])
        expect(code).toBe(0)
        const tasks = yield* send(app, "GET", "/api/v1/tasks", { token })
        const id = ((tasks.body as Json).items as Array<Json>)[0]!.id
        expect(text).toContain(`Chatting with ${url}.`)
        expect(text).toContain('  → todo_create {"title":"Buy groceries"}\n')
        expect(text).toContain(`  ✓ todo_create: #${id} "Buy groceries"\n`)
        expect(text).toContain(`Added task #${id} "Buy groceries".\n`)
        expect(text).toContain('  → todo_list {"status":"pending"}\n  ✓ todo_list: 1 task\n')
        expect(text).toContain(`You have 1 pending task:\n- #${id} Buy groceries\n`)
        expect(text).toContain("(new conversation)")
        expect(text).toContain("  ✗ todo_delete: Task 99999999 not found")
        expect(text).not.toContain("never sent")

        // Two conversations: the first two lines shared one, /new started the other.
        const conversations = yield* send(app, "GET", "/api/v1/conversations", { token })
        const items = (conversations.body as Json).items as Array<Json>
        expect(items.map((c) => c.title)).toEqual(["delete task 99999999", "add a task to buy groceries"])
        const messages = yield* send(app, "GET", `/api/v1/conversations/${items[1]!.id}/messages`, { token })
        expect(((messages.body as Json).items as Array<Json>).map((m) => m.role)).toEqual([
          "user",
          "assistant",
          "user",
          "assistant"
        ])
      })
    )

    it.effect(
      "C27: a missing or refused token and an unreachable server end with a message and an exit code",
      () =>
        Effect.gen(function* () {
          const { url } = yield* served
          const missing = yield* converse({ url }, ["hello"])
          expect(missing.code).toBe(2)
          expect(missing.text).toContain("needs a bearer token")
          const refused = yield* converse({ url, token: "not-a-jwt" }, ["hello"])
          expect(refused.code).toBe(1)
          expect(refused.text).toContain("The server refused the token")
          // A port that was just listening and no longer is.
          const closed = yield* Effect.promise(() => ScriptedModel.start())
          yield* Effect.promise(() => closed.close())
          const gone = yield* converse({ url: closed.baseURL.replace(/\/v1$/, ""), token: "t" }, ["hello"])
          expect(gone.code).toBe(1)
          expect(gone.text).toContain("Cannot reach")
        })
    )
  })
})
