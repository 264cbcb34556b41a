/**
 * The history use case: a user's task events, newest first, filtered by task,
 * type, surface and time, in cursor pages. Dates in `since`/`until` are read in the user's
 * time zone, like the other moment filters. Asking for the history of a task id that has no
 * events and no live task answers `TaskNotFound`, as for any id that is not the user's; a
 * purged task's history stays readable until its events expire.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { Surface } from "./Actor.ts"
import { CurrentUser } from "./CurrentUser.ts"
import { isMomentText, momentMillis } from "./DueViews.ts"
import { InvalidCursor, type InvalidParameters, type RepositoryError, TaskNotFound } from "./Errors.ts"
import { EventLog, type EventQuery } from "./EventLog.ts"
import { inputDecoder } from "./SchemaIssues.ts"
import { SettingsService } from "./Settings.ts"
import { defaulted, omittable, TaskId } from "./Task.ts"
import { TaskEvent, TaskEventType } from "./TaskEvent.ts"
import { TaskRepository } from "./TaskRepository.ts"

export const MAX_HISTORY_LIMIT = 100

/** A moment filter, described briefly: the tool list is read by every client's model. */
const When = Schema.String.annotate({
  description: "A date (in the account's time zone) or a date-time with an offset."
}).check(
  Schema.makeFilter(isMomentText, {
    message: "must be a date (2026-12-01) or a date-time with an offset (2026-12-01T09:00:00Z)"
  })
)

export const HistoryParams = Schema.Struct({
  task_id: omittable(TaskId.annotate({ description: "Only this task's events." })),
  type: omittable(TaskEventType),
  surface: omittable(Surface),
  since: omittable(When),
  until: omittable(When),
  cursor: omittable(
    Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)).annotate({
      description: "The next_cursor of the previous page."
    })
  ),
  limit: defaulted(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_HISTORY_LIMIT })).annotate({
      description: `Events per page, 1 to ${MAX_HISTORY_LIMIT} (default 20).`
    }),
    20
  )
})
export type HistoryParams = typeof HistoryParams.Type
export type HistoryInput = typeof HistoryParams.Encoded

export const EventPage = Schema.Struct({
  items: Schema.Array(TaskEvent),
  next_cursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as cursor for the next page; null when there are no more events."
  })
}).annotate({ identifier: "EventPage", description: "One page of task events." })
export type EventPage = typeof EventPage.Type

// Opaque to clients: the last position served.
const CursorPayload = Schema.Struct({ p: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)) })
const Cursor = Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(CursorPayload)))
const encodeCursor = Schema.encodeSync(Cursor)
const decodeCursor = Schema.decodeUnknownOption(Cursor)

const decodeHistory = inputDecoder(HistoryParams)

export interface EventHistoryShape {
  readonly list: (
    input: HistoryInput
  ) => Effect.Effect<
    EventPage,
    InvalidParameters | InvalidCursor | TaskNotFound | RepositoryError,
    CurrentUser
  >
}

export class EventHistory extends Context.Service<EventHistory, EventHistoryShape>()(
  "@taskport/core/EventHistory"
) {
  static readonly layer: Layer.Layer<EventHistory, never, EventLog | TaskRepository | SettingsService> =
    Layer.effect(
      this,
      Effect.gen(function* () {
        const log = yield* EventLog
        const tasks = yield* TaskRepository
        const settings = yield* SettingsService
        const list: EventHistoryShape["list"] = Effect.fn("EventHistory.list")(function* (input) {
          const params = yield* decodeHistory(input)
          const user = yield* CurrentUser
          const query: { -readonly [K in keyof EventQuery]: EventQuery[K] } = {
            order: "desc",
            limit: params.limit
          }
          if (params.cursor !== undefined) {
            const cursor = decodeCursor(params.cursor)
            if (Option.isNone(cursor)) return yield* new InvalidCursor()
            query.after = cursor.value.p
          }
          if (params.task_id !== undefined) query.taskId = params.task_id
          if (params.type !== undefined) query.types = [params.type]
          if (params.surface !== undefined) query.surface = params.surface
          if (params.since !== undefined || params.until !== undefined) {
            const { zone } = yield* settings.effective
            if (params.since !== undefined) query.since = momentMillis(params.since, zone)
            if (params.until !== undefined) query.until = momentMillis(params.until, zone)
          }
          const slice = yield* log.list(user.id, query)
          if (slice.items.length === 0 && params.task_id !== undefined && params.cursor === undefined) {
            const unfiltered = { order: "desc", limit: 1, taskId: params.task_id } as const
            const any = yield* log.list(user.id, unfiltered)
            if (any.items.length === 0 && Option.isNone(yield* tasks.find(user.id, params.task_id))) {
              return yield* new TaskNotFound({ id: params.task_id })
            }
          }
          return {
            items: slice.items,
            next_cursor: Option.match(slice.next, {
              onNone: () => null,
              onSome: (position) => encodeCursor({ p: position })
            })
          }
        })
        return EventHistory.of({ list })
      })
    )
}
