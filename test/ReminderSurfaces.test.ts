/**
 * Reminders on the surfaces, over the real app and database: REST create, PATCH and PUT set,
 * move and clear a task's reminder and show `remind_at`; bad or due-less reminders are a 400
 * naming `reminder`, writing nothing; the OpenAPI document and the MCP tools take the field
 * from the core's Task schema.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { McpHttp } from "@taskport/mcp"
import { ENDPOINT, inProcessFetch } from "@taskport/test-support/McpHarness"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect } from "effect"

type Json = Record<string, unknown>

const fieldsOf = (body: unknown): ReadonlyArray<string> =>
  (
    (body as { error: { details?: { issues?: ReadonlyArray<{ field: string }> } } }).error.details?.issues ??
    []
  ).map((issue) => issue.field)

for (const database of testDatabases()) {
  describe(`reminders on the surfaces on ${database.name}`, () => {
    layer(servicesLayer(database.layer()), { timeout: 120_000 })((it) => {
      it.effect(
        "Q7: REST create, PATCH and PUT set, move and clear a reminder; bad ones are a 400 naming it",
        () =>
          Effect.gen(function* () {
            const app = yield* makeApp()
            const token = yield* tokenFor(`reminders-${crypto.randomUUID()}`)
            const created = yield* send(app, "POST", "/api/v1/tasks", {
              token,
              body: { title: "Dentist", due: "2030-12-07T09:00[Europe/Paris]", reminder: "-PT30M" }
            })
            expect(created.status).toBe(201)
            const task = created.body as Json
            expect(task).toMatchObject({ reminder: "-PT30M", remind_at: "2030-12-07T07:30:00.000Z" })

            const moved = yield* send(app, "PATCH", `/api/v1/tasks/${String(task.id)}`, {
              token,
              body: { due: "2030-12-07T11:00[Europe/Paris]" }
            })
            expect(moved.status).toBe(200)
            expect(moved.body).toMatchObject({ reminder: "-PT30M", remind_at: "2030-12-07T09:30:00.000Z" })
            const absolute = yield* send(app, "PATCH", `/api/v1/tasks/${String(task.id)}`, {
              token,
              body: { reminder: "2030-12-06T18:00:00+01:00" }
            })
            expect(absolute.body).toMatchObject({
              reminder: "2030-12-06T17:00:00.000Z",
              remind_at: "2030-12-06T17:00:00.000Z"
            })

            // Clearing the due under a reminder counted from it is refused, and changes nothing.
            yield* send(app, "PATCH", `/api/v1/tasks/${String(task.id)}`, {
              token,
              body: { reminder: "-PT1H" }
            })
            const orphaned = yield* send(app, "PATCH", `/api/v1/tasks/${String(task.id)}`, {
              token,
              body: { due: null }
            })
            expect(orphaned.status).toBe(400)
            expect(fieldsOf(orphaned.body)).toEqual(["reminder"])
            const kept = yield* send(app, "GET", `/api/v1/tasks/${String(task.id)}`, { token })
            expect(kept.body).toMatchObject({
              due: "2030-12-07T11:00:00.000+01:00[Europe/Paris]",
              reminder: "-PT1H"
            })

            for (const body of [
              { title: "No due", reminder: "-PT30M" },
              { title: "Words", reminder: "half an hour before" },
              { title: "Months", due: "2030-12-07", reminder: "-P1M" }
            ]) {
              const refused = yield* send(app, "POST", "/api/v1/tasks", { token, body })
              expect(refused.status, body.title).toBe(400)
              expect(fieldsOf(refused.body), body.title).toEqual(["reminder"])
            }
            const listed = yield* send(app, "GET", "/api/v1/tasks", { token })
            expect((listed.body as { items: ReadonlyArray<Json> }).items).toHaveLength(1)

            // PUT replaces the editable fields: one it leaves out is reset, the reminder too.
            const replaced = yield* send(app, "PUT", `/api/v1/tasks/${String(task.id)}`, {
              token,
              body: { title: "Dentist", due: "2030-12-07T11:00[Europe/Paris]" }
            })
            expect(replaced.status).toBe(200)
            expect(replaced.body).toMatchObject({ reminder: null, remind_at: null })
            const again = yield* send(app, "PUT", `/api/v1/tasks/${String(task.id)}`, {
              token,
              body: { title: "Dentist", due: "2030-12-07", reminder: "-PT2H" }
            })
            // A date-only due counts from the day's start in the user's zone (UTC here).
            expect(again.body).toMatchObject({ reminder: "-PT2H", remind_at: "2030-12-06T22:00:00.000Z" })
          })
      )

      it.effect("Q7: the OpenAPI document and the MCP tools take the reminder from the Task schema", () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const document = (yield* send(app, "GET", "/api/v1/openapi.json")).body as {
            components: {
              schemas: Record<string, { properties: Record<string, unknown>; required?: Array<string> }>
            }
          }
          const taskSchema = document.components.schemas.Task!
          expect(taskSchema.required).toEqual(expect.arrayContaining(["reminder", "remind_at"]))

          const token = yield* tokenFor(`reminders-${crypto.randomUUID()}`)
          const handler = yield* McpHttp.make({ allowedOrigins: [] })
          const client = yield* Effect.acquireRelease(
            Effect.promise(async () => {
              const client = new Client({ name: "taskport-test", version: "1.0.0" })
              await client.connect(
                new StreamableHTTPClientTransport(new URL(ENDPOINT), {
                  fetch: inProcessFetch(handler),
                  requestInit: { headers: { authorization: `Bearer ${token}` } }
                })
              )
              return client
            }),
            (client) => Effect.promise(() => client.close())
          )
          const call = (name: string, args: Json) =>
            Effect.promise(
              () =>
                client.callTool({ name, arguments: args }) as Promise<{
                  isError?: boolean
                  structuredContent?: Json
                  content: ReadonlyArray<{ text?: string }>
                }>
            )
          const created = yield* call("todo_create", {
            title: "Call back",
            due: "2030-12-07T09:00[UTC]",
            reminder: "-PT15M"
          })
          expect(created.isError ?? false).toBe(false)
          expect(created.structuredContent).toMatchObject({
            reminder: "-PT15M",
            remind_at: "2030-12-07T08:45:00.000Z"
          })
          const updated = yield* call("todo_update", { id: created.structuredContent!.id, reminder: null })
          expect(updated.structuredContent).toMatchObject({ reminder: null, remind_at: null })
          const refused = yield* call("todo_create", { title: "No due", reminder: "-PT15M" })
          expect(refused.isError).toBe(true)
          expect(refused.content.map((part) => part.text ?? "").join(" ")).toContain("reminder")
        }).pipe(Effect.scoped)
      )
    })
  })
}
