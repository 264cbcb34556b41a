/**
 * The task routes: each decodes its path, query, body and preconditions into the parameters
 * of one `todo_*` tool, runs the tool for the verified user and shapes the answer (201 with
 * Location, ETag, 304, 204). A write with an Idempotency-Key runs once per key, its answer
 * kept with the write for replay.
 */
import { CurrentUser, runTodoTool, type UserId } from "@taskport/core"
import { Effect, Schema } from "effect"
import type { H3Event } from "h3"
import { fromToolFailure, type HttpFailure, invalidRequest } from "./HttpFailure.ts"
import { keyOf, once, type StoredAnswer, toResponse } from "./IdempotencyKeys.ts"
import { readJsonObject } from "./JsonBody.ts"
import { asPreconditionFailure, etagOf, expectedVersion, notModified, versionOf } from "./Preconditions.ts"
import { decodeOrFail, pathDecoder, queryDecoder } from "./RequestDecoding.ts"
import { json, notModified as notModifiedResponse } from "./Responses.ts"
import type { Route } from "./Route.ts"
import {
  isConditional,
  isWrite,
  PREFIX_USER,
  PREFIX_V1,
  ReplaceTaskBody,
  TaskPath,
  type TaskRoute,
  taskRoutes
} from "./Routes.ts"

const decodeNumericId = pathDecoder("id", TaskPath.fields.id)
// Number() would also read 1e2, 01, +1 and 1.0 as ids: one task would answer to many paths.
const CANONICAL_ID = /^[1-9][0-9]*$/
export const decodeTaskId = (raw: string | undefined) =>
  raw !== undefined && CANONICAL_ID.test(raw)
    ? decodeNumericId(raw)
    : Effect.fail(
        invalidRequest("Invalid path: id: must be a positive integer written in decimal digits", [
          { field: "id", message: "must be a positive integer written in decimal digits" }
        ])
      )

/** Runs a tool for the user; its typed failure names the fields at fault. */
const runTool = (route: TaskRoute, user: UserId, params: Record<string, unknown>) =>
  runTodoTool(route.tool, params).pipe(
    Effect.provideService(CurrentUser, { id: user }),
    Effect.mapError(fromToolFailure)
  )

const taskAnswer = (encoded: unknown, status = 200, location?: string): StoredAnswer => ({
  status,
  body: encoded,
  etag: etagOf(versionOf(encoded)),
  ...(location === undefined ? {} : { location })
})

const handler = (route: TaskRoute, limit: number, byPathUser: boolean) => {
  const decodeQuery = route.query === undefined ? undefined : queryDecoder(route.query)
  // The tools take the query's encoded form (the same JSON a tool call would carry).
  const encodeQuery =
    route.query === undefined ? undefined : Schema.encodeSync(route.query as Schema.Codec<unknown, unknown>)
  const conditional = isConditional(route.kind)
  const write = isWrite(route.kind)
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
      let body: Record<string, unknown> | undefined
      if (route.body !== undefined) {
        body = yield* readJsonObject(request, limit, route.bodyRequired ?? false)
        if (body !== undefined && Object.hasOwn(body, "idempotency_key")) {
          return yield* invalidRequest(
            "Invalid request: idempotency_key: send it as the Idempotency-Key header",
            [{ field: "idempotency_key", message: "send it as the Idempotency-Key header" }]
          )
        }
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
      const key = write ? yield* keyOf(request) : undefined

      const run = runTool(route, user, params).pipe(
        Effect.mapError((failure: HttpFailure) =>
          expected === undefined ? failure : asPreconditionFailure(failure)
        )
      )
      switch (route.kind) {
        case "list":
          return json((yield* run).encoded)
        case "read": {
          const result = yield* run
          const etag = etagOf(versionOf(result.encoded))
          return notModified(request, etag)
            ? notModifiedResponse(etag)
            : toResponse(taskAnswer(result.encoded))
        }
        default: {
          const answer = Effect.map(run, (result): StoredAnswer => {
            if (route.kind === "delete") return { status: 204, body: null }
            if (route.kind === "batch") return { status: 200, body: result.encoded }
            if (route.kind !== "create") return taskAnswer(result.encoded)
            const prefix = byPathUser ? `/api/${encodeURIComponent(user)}` : PREFIX_V1
            const id = (result.encoded as { readonly id?: unknown }).id
            return taskAnswer(result.encoded, 201, `${prefix}/tasks/${String(id)}`)
          })
          const identity = { path: pathParams, body: body ?? null, if_match: request.headers.get("if-match") }
          return toResponse(
            yield* once(user, key, { method: route.method, operation: route.operationId, identity }, answer)
          )
        }
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
