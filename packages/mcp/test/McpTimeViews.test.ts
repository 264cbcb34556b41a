/**
 * The due views and the user's zone over MCP, through the official SDK client with the clock
 * under `TestClock`: todo_list's due filter, the todo://settings resource, and X-Time-Zone on
 * the endpoint (applied while no zone is stored, refused when it is no IANA zone).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { McpHttp } from "@taskport/mcp"
import { ENDPOINT, inProcessFetch } from "@taskport/test-support/McpHarness"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect, type Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"

type Json = Record<string, unknown>

const connect = (handler: McpHttp.McpHttpHandler, token: string, headers: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "taskport-test", version: "1.0.0" })
      await client.connect(
        new StreamableHTTPClientTransport(new URL(ENDPOINT), {
          fetch: inProcessFetch(handler),
          requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } }
        })
      )
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const titles = (client: Client, args: Json) =>
  Effect.promise(async () => {
    const result = (await client.callTool({ name: "todo_list", arguments: args })) as {
      isError?: boolean
      structuredContent?: { items: ReadonlyArray<{ title: string }> }
    }
    expect(result.isError ?? false).toBe(false)
    return (result.structuredContent?.items ?? []).map((task) => task.title).sort()
  })

const settingsOf = (client: Client) =>
  Effect.promise(async () => {
    const read = await client.readResource({ uri: "todo://settings" })
    const first = read.contents[0] as { text: string }
    return JSON.parse(first.text) as Json
  })

for (const database of testDatabases()) {
  describe(`time views over MCP on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000, excludeTestServices: true })((base) => {
      // Each test gets its own TestClock; the database layer keeps the real one, which its pool needs.
      const it = {
        effect: <A, E>(
          name: string,
          self: () => Effect.Effect<A, E, Layer.Success<ReturnType<typeof servicesLayer>> | Scope.Scope>
        ) => base.effect(name, () => Effect.provide(self(), TestClock.layer()))
      }
      it.effect(
        "T9: todo_list's due views and todo://settings follow the stored zone, else X-Time-Zone",
        () =>
          Effect.gen(function* () {
            const handler = yield* McpHttp.make({})
            const user = `user-${crypto.randomUUID()}`
            const token = yield* tokenFor(user)
            // 22:00 on Dec 1 in Los Angeles, already Dec 2 in UTC.
            yield* TestClock.setTime(Date.parse("2026-12-02T06:00:00Z"))
            const plain = yield* connect(handler, token)
            for (const [title, due] of [
              ["due dec 1", "2026-12-01"],
              ["due dec 2", "2026-12-02"]
            ]) {
              yield* Effect.promise(() => plain.callTool({ name: "todo_create", arguments: { title, due } }))
            }
            expect(yield* settingsOf(plain)).toEqual({
              time_zone: null,
              week_start: "monday",
              effective_time_zone: "UTC"
            })
            expect(yield* titles(plain, { due: "today" })).toEqual(["due dec 2"])
            expect(yield* titles(plain, { due: "overdue" })).toEqual(["due dec 1"])

            const la = yield* connect(handler, token, { "x-time-zone": "America/Los_Angeles" })
            expect(yield* settingsOf(la)).toMatchObject({ effective_time_zone: "America/Los_Angeles" })
            expect(yield* titles(la, { due: "today" })).toEqual(["due dec 1"])
            expect(yield* titles(la, { due: "upcoming", due_within_days: 1 })).toEqual(["due dec 2"])

            // A stored zone wins over the connection's.
            const app = yield* makeApp()
            yield* send(app, "PUT", "/api/v1/settings", { token, body: { time_zone: "Asia/Kolkata" } })
            expect(yield* settingsOf(la)).toMatchObject({
              time_zone: "Asia/Kolkata",
              effective_time_zone: "Asia/Kolkata"
            })
            expect(yield* titles(la, { due: "today" })).toEqual(["due dec 2"])

            const refused = yield* Effect.promise(() =>
              handler.fetch(
                new Request(ENDPOINT, {
                  method: "POST",
                  headers: {
                    authorization: `Bearer ${token}`,
                    "content-type": "application/json",
                    accept: "application/json, text/event-stream",
                    "x-time-zone": "Mars/Olympus"
                  },
                  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" })
                })
              )
            )
            expect(refused.status).toBe(400)
            expect(yield* Effect.promise(() => refused.text())).toContain("x-time-zone")
          }).pipe(Effect.scoped)
      )

      it.effect(
        "T12: recurring tasks over MCP: todo_create with recurrence, todo_complete schedules, skip moves",
        () =>
          Effect.gen(function* () {
            const handler = yield* McpHttp.make({})
            const token = yield* tokenFor(`user-${crypto.randomUUID()}`)
            yield* TestClock.setTime(Date.parse("2026-01-30T06:00:00Z"))
            const client = yield* connect(handler, token, { "x-time-zone": "Asia/Kolkata" })
            const callTool = (name: string, args: Json) =>
              Effect.promise(
                () =>
                  client.callTool({ name, arguments: args }) as Promise<{
                    isError?: boolean
                    structuredContent?: Json
                    content: Array<{ text?: string }>
                  }>
              )
            const created = yield* callTool("todo_create", {
              title: "pay card",
              due: "2026-01-30",
              recurrence: "FREQ=MONTHLY;BYDAY=-1FR"
            })
            expect(created.structuredContent).toMatchObject({ recurrence: "FREQ=MONTHLY;BYDAY=-1FR" })
            const id = created.structuredContent!.id as number
            const done = yield* callTool("todo_complete", { id })
            const nextId = done.structuredContent!.next_occurrence_id as number
            const next = yield* callTool("todo_read", { id: nextId })
            expect(next.structuredContent).toMatchObject({ due: "2026-02-27", completed: false })
            const skipped = yield* callTool("todo_complete", { id: nextId, skip: true })
            expect(skipped.structuredContent).toMatchObject({ due: "2026-03-27" })
            const bad = yield* callTool("todo_create", {
              title: "x",
              due: "2026-01-30",
              recurrence: "FREQ=HOURLY"
            })
            expect(bad.isError).toBe(true)
            expect(bad.content.map((c) => c.text ?? "").join(" ")).toContain("recurrence")
          }).pipe(Effect.scoped)
      )
    })
  })
}
