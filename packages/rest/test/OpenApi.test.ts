/**
 * The OpenAPI document: a valid 3.1 document derived from the core schemas, whose paths are
 * exactly the routes the app serves, each task operation named after its todo_* tool and
 * documenting its error responses.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { PgDatabase } from "@taskport/postgres"
import { eventRoutes, makeOpenApi, taskRoutes } from "@taskport/rest"
import { makeApp, send, servicesLayer, tokenFor } from "@taskport/test-support/RestHarness"
import { Effect } from "effect"

type Operation = {
  operationId: string
  responses: Record<string, unknown>
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>
}
const document = makeOpenApi() as {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}

describe("OpenAPI document", () => {
  it("R36: validates as OpenAPI 3.1", async () => {
    const validator = new Validator()
    const result = await validator.validate(structuredClone(document))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe("3.1")
  })

  it("R36: task operations are named after the todo_* tools and document their errors", () => {
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods))
    const ids = operations.map((operation) => operation.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    for (const name of [
      "todo_create",
      "todo_read",
      "todo_update",
      "todo_delete",
      "todo_list",
      "todo_complete"
    ]) {
      expect(ids).toContain(name)
    }
    for (const operation of operations.filter((op) => op.operationId.startsWith("todo_"))) {
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["400", "401", "500", "503"]))
    }
    expect(document.paths["/api/v1/tasks/{id}"]?.patch?.responses).toHaveProperty("412")
    expect(document.paths["/api/{user_id}/tasks"]?.get?.responses).toHaveProperty("403")
    const listParameters = document.paths["/api/v1/tasks"]?.get?.parameters?.map((p) => p.name)
    expect(listParameters).toEqual(
      expect.arrayContaining([
        "status",
        "priority",
        "tag",
        "due_before",
        "due_after",
        "query",
        "sort",
        "order",
        "cursor",
        "limit"
      ])
    )
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(["Task", "TaskPage", "ErrorResponse"])
    )
  })

  it("H7: the webhook routes say which webhook is missing, not which task", () => {
    const paths = Object.entries(document.paths).filter(([path]) => path.includes("/webhooks/{id}"))
    expect(paths.length).toBeGreaterThan(0)
    for (const [path, methods] of paths) {
      for (const [method, operation] of Object.entries(methods)) {
        const notFound = (operation.responses["404"] as { description?: string } | undefined)?.description
        expect(notFound, `${method} ${path}`).toContain("webhook")
        expect(notFound, `${method} ${path}`).not.toContain("task")
      }
    }
  })

  it("R36: path and header parameters carry the limits of the schemas the app decodes with", () => {
    const parameter = (path: string, method: string, name: string) =>
      document.paths[path]?.[method]?.parameters?.find((p) => p.name === name)
    expect(parameter("/api/{user_id}/tasks/{id}", "patch", "id")).toMatchObject({
      in: "path",
      required: true,
      schema: { type: "integer", minimum: 1, maximum: 2147483647 }
    })
    expect(parameter("/api/{user_id}/tasks/{id}", "patch", "user_id")).toMatchObject({
      in: "path",
      required: true,
      schema: { type: "string", minLength: 1, maxLength: 255 }
    })
    expect(parameter("/api/v1/tasks/{id}", "put", "If-Match")).toMatchObject({
      in: "header",
      required: false
    })
    expect(parameter("/api/v1/tasks/{id}", "get", "If-None-Match")).toMatchObject({
      in: "header",
      required: false
    })
    expect(parameter("/api/v1/conversations/{id}", "delete", "id")?.schema).toMatchObject({ format: "uuid" })
  })
})

describe("OpenAPI document against the app", () => {
  layer(servicesLayer(PgDatabase.layerPglite()), { timeout: 120_000 })((it) => {
    it.effect("R36: every documented route is served and every served route is documented", () =>
      Effect.gen(function* () {
        const app = yield* makeApp()
        const user = `user-${crypto.randomUUID()}`
        const token = yield* tokenFor(user)
        const concrete = (path: string) =>
          path.replace("{user_id}", user).replace("{id}", "1").replace("{file}", "swagger-ui.css")
        for (const [path, methods] of Object.entries(document.paths)) {
          for (const method of Object.keys(methods)) {
            if (path.endsWith("/events/stream")) {
              // A stream never ends: its answer is checked, then it is closed.
              const status = yield* Effect.promise(async () => {
                const response = await app.request(concrete(path), {
                  headers: { authorization: `Bearer ${token}` }
                })
                await response.body?.cancel()
                return response.status
              })
              expect(status, path).toBe(200)
              continue
            }
            const reply = yield* send(app, method.toUpperCase(), concrete(path), {
              token,
              body: method === "get" || method === "delete" ? undefined : {}
            })
            // A served route never answers "no route" (404 with that message) or 405.
            expect(reply.status, `${method} ${path}`).not.toBe(405)
            expect(reply.text, `${method} ${path}`).not.toContain("No route for")
          }
        }
        // The other direction: the route table the app registers is the one documented.
        for (const route of [...taskRoutes, ...eventRoutes]) {
          expect(document.paths[`/api/v1${route.path}`]?.[route.method.toLowerCase()]?.operationId).toBe(
            route.operationId
          )
          expect(document.paths[`/api/{user_id}${route.path}`]?.[route.method.toLowerCase()]).toBeDefined()
        }
        const undocumented = ["/api/v1/tasks/1/archive", "/api/v1/tasks/1/complete/x", "/tasks", "/api/v1"]
        for (const path of undocumented) {
          const reply = yield* send(app, "GET", path, { token })
          expect(reply.status, path).toBe(404)
        }
      })
    )
  })
})
