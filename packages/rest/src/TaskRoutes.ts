/**
 * The task routes: each decodes its path, query, body and preconditions into the parameters
 * of one `todo_*` tool, runs the tool for the verified user and shapes the answer (201 with
 * Location, ETag, 304, 204).
 */
import { CurrentUser, runTodoTool, type UserId } from "@taskport/core"
import { Effect, Schema } from "effect"
import type { H3Event } from "h3"
import { fromToolFailure, type HttpFailure } from "./HttpFailure.ts"
import { readJsonObject } from "./JsonBody.ts"
import { asPreconditionFailure, etagOf, expectedVersion, notModified, versionOf } from "./Preconditions.ts"
import { decodeOrFail, pathDecoder, queryDecoder } from "./RequestDecoding.ts"
import { json, noContent, notModified as notModifiedResponse } from "./Responses.ts"
import type { Route } from "./Route.ts"
import { PREFIX_USER, PREFIX_V1, ReplaceTaskBody, TaskPath, type TaskRoute, taskRoutes } from "./Routes.ts"

const decodeTaskId = pathDecoder("id", TaskPath.fields.id)

/** Runs a tool for the user; its typed failure names the fields at fault. */
const runTool = (route: TaskRoute, user: UserId, params: Record<string, unknown>) =>
  runTodoTool(route.tool, params).pipe(
    Effect.provideService(CurrentUser, { id: user }),
    Effect.mapError(fromToolFailure)
  )

const taskResponse = (encoded: unknown, status = 200, extra: Record<string, string> = {}) =>
  json(encoded, status, { etag: etagOf(versionOf(encoded)), ...extra })

const handler = (route: TaskRoute, limit: number, byPathUser: boolean) => {
  const decodeQuery = route.query === undefined ? undefined : queryDecoder(route.query)
  // The tools take the query's encoded form (the same JSON a tool call would carry).
  const encodeQuery =
    route.query === undefined ? undefined : Schema.encodeSync(route.query as Schema.Codec<unknown, unknown>)
  const conditional = route.kind === "replace" || route.kind === "patch"
  return (event: H3Event, user: UserId) =>
    Effect.gen(function* () {
      const request = event.req
      const params: Record<string, unknown> = {}
      if (route.path.includes("{id}")) params.id = yield* decodeTaskId(event.context.params?.id)
      if (decodeQuery !== undefined && encodeQuery !== undefined) {
        Object.assign(params, encodeQuery(yield* decodeQuery(request)))
      }
      // The path names the task: a body cannot point the operation at another one.
      const pathParams = { ...params }
      if (route.body !== undefined) {
        const body = yield* readJsonObject(request, limit, route.bodyRequired ?? false)
        if (route.kind === "replace") {
          // The replacement schema gives every editable field it does not name its default.
          const replacement = yield* decodeOrFail(ReplaceTaskBody, body, "request")
          Object.assign(params, replacement, pathParams)
        } else {
          Object.assign(params, body, pathParams)
        }
      }
      const expected = conditional ? yield* expectedVersion(request) : undefined
      if (expected !== undefined) params.expected_version = expected

      const result = yield* runTool(route, user, params).pipe(
        Effect.mapError((failure: HttpFailure) =>
          expected === undefined ? failure : asPreconditionFailure(failure)
        )
      )
      switch (route.kind) {
        case "list":
          return json(result.encoded)
        case "create": {
          const prefix = byPathUser ? `/api/${encodeURIComponent(user)}` : PREFIX_V1
          const id = (result.encoded as { readonly id?: unknown }).id
          return taskResponse(result.encoded, 201, { location: `${prefix}/tasks/${String(id)}` })
        }
        case "read": {
          const etag = etagOf(versionOf(result.encoded))
          return notModified(request, etag) ? notModifiedResponse(etag) : taskResponse(result.encoded)
        }
        case "delete":
          return noContent()
        default:
          return taskResponse(result.encoded)
      }
    })
}

/** Every task route, under both prefixes. */
export const routes = (limit: number): ReadonlyArray<Route> =>
  taskRoutes.flatMap((route) =>
    [PREFIX_V1, PREFIX_USER].map((prefix): Route => {
      const handle = handler(route, limit, prefix === PREFIX_USER)
      return {
        access: "user",
        method: route.method,
        path: `${prefix}${route.path}`,
        handle: (event, _scope, user) => handle(event, user)
      }
    })
  )
