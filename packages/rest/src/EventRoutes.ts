/**
 * The event routes: the history (`GET /events`, `GET /tasks/{id}/events`), which run the
 * `todo_history` tool, and the live stream (`GET /events/stream`), server-sent events of the
 * caller's changes as they happen, resumable with `Last-Event-ID` (or `last_event_id`).
 */
import {
  CurrentUser,
  type EventFeed,
  type EventLog,
  EventPage,
  eventStream,
  HistoryParams,
  runTodoTool,
  type UserId
} from "@taskport/core"
import { type Duration, Effect, Schema } from "effect"
import type { H3Event } from "h3"
import { sseResponse } from "./EventSse.ts"
import { fromToolFailure, type HttpFailure, invalidRequest } from "./HttpFailure.ts"
import { queryDecoder } from "./RequestDecoding.ts"
import { json } from "./Responses.ts"
import type { Route } from "./Route.ts"
import { PREFIX_USER, PREFIX_V1, type RouteSpec, TaskPath } from "./Routes.ts"
import { decodeTaskId } from "./TaskRoutes.ts"

const { task_id: _taskId, ...taskHistoryFields } = HistoryParams.fields

/** The history of one task: the filters of `GET /events` but the task. */
export const TaskHistoryQuery = Schema.Struct(taskHistoryFields)

const Position = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const StreamQuery = Schema.Struct({
  last_event_id: Schema.optionalKey(
    Position.annotate({ description: "Resume after this event position (as Last-Event-ID does)." })
  )
})

export const StreamHeaders = Schema.Struct({
  "last-event-id": Schema.optionalKey(
    Schema.String.annotate({
      description:
        "The id of the last event received: the stream replays every event after it, then goes live."
    })
  )
})

export type EventRouteKind = "events_list" | "task_events" | "events_stream"

export const eventRoutes: ReadonlyArray<RouteSpec<EventRouteKind>> = [
  {
    kind: "events_list",
    method: "GET",
    path: "/events",
    operationId: "events_list",
    summary: "The history of the user's task changes, newest first, with filters and cursor pagination",
    status: 200,
    query: HistoryParams,
    response: EventPage
  },
  {
    kind: "task_events",
    method: "GET",
    path: "/tasks/{id}/events",
    operationId: "task_events",
    summary: "One task's history, also after it was purged (until its events expire)",
    status: 200,
    params: TaskPath,
    query: TaskHistoryQuery,
    response: EventPage
  },
  {
    kind: "events_stream",
    method: "GET",
    path: "/events/stream",
    operationId: "events_stream",
    summary: "The user's task changes as server-sent events, live; resumable with Last-Event-ID",
    status: 200,
    query: StreamQuery,
    headers: StreamHeaders
  }
]

export interface StreamOptions {
  /** How often an idle stream sends a heartbeat comment (default 15 s). */
  readonly heartbeat: Duration.Input
  /** Items waiting for a slow reader, beyond which the stream reads no further (default 100). */
  readonly buffer: number
  /** Events read from the outbox at a time (default 100). */
  readonly pageSize?: number | undefined
}

const DIGITS = /^[0-9]{1,15}$/

const lastEventId = (
  event: H3Event,
  fromQuery: number | undefined
): Effect.Effect<number | undefined, HttpFailure> => {
  const header = event.req.headers.get("last-event-id")
  if (header === null || header.trim() === "") return Effect.succeed(fromQuery)
  if (!DIGITS.test(header.trim())) {
    const message = "must be the id of an event of this stream (a non-negative integer)"
    return Effect.fail(
      invalidRequest(`Invalid headers: last-event-id: ${message}`, [{ field: "last-event-id", message }])
    )
  }
  return Effect.succeed(Number(header.trim()))
}

const encodeHistory = Schema.encodeSync(HistoryParams)
const decodeHistoryQuery = queryDecoder(HistoryParams)
const decodeTaskHistoryQuery = queryDecoder(TaskHistoryQuery)
const decodeStreamQuery = queryDecoder(StreamQuery)

const history = (params: Record<string, unknown>, user: UserId) =>
  runTodoTool("todo_history", params).pipe(
    Effect.provideService(CurrentUser, { id: user }),
    Effect.mapError(fromToolFailure),
    Effect.map((result) => json(result.encoded))
  )

const handler =
  (route: RouteSpec<EventRouteKind>, options: StreamOptions, onStreamFailure: (error: unknown) => void) =>
  (event: H3Event, user: UserId) =>
    Effect.gen(function* () {
      switch (route.kind) {
        case "events_list":
          return yield* history(encodeHistory(yield* decodeHistoryQuery(event.req)), user)
        case "task_events": {
          const id = yield* decodeTaskId(event.context.params?.id)
          const filters = yield* decodeTaskHistoryQuery(event.req)
          return yield* history(encodeHistory({ ...filters, task_id: id }), user)
        }
        case "events_stream": {
          const query = yield* decodeStreamQuery(event.req)
          const after = yield* lastEventId(event, query.last_event_id)
          const items = eventStream({
            after,
            buffer: options.buffer,
            heartbeat: options.heartbeat,
            pageSize: options.pageSize
          })
          return yield* sseResponse(items, onStreamFailure).pipe(
            Effect.provideService(CurrentUser, { id: user })
          )
        }
      }
    })

/** The event routes, under both prefixes. */
export const routes = (
  options: StreamOptions,
  onStreamFailure: (error: unknown) => void
): ReadonlyArray<Route> =>
  eventRoutes.flatMap((route) =>
    [PREFIX_V1, PREFIX_USER].map((prefix): Route => {
      const handle = handler(route, options, onStreamFailure)
      return {
        access: "user",
        method: route.method,
        path: `${prefix}${route.path}`,
        handle: (event, _scope, user) => handle(event, user)
      }
    })
  )

export type EventServices = EventLog | EventFeed
