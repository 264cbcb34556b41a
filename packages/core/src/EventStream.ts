/**
 * A user's events as they happen, for streams (SSE): first the events after the position the
 * reader resumes from, read from the outbox, then each new one as it commits. The stream
 * subscribes to the `EventFeed` before it reads anything, and it always reads the outbox
 * after the last position it sent, so the switch from replay to live neither misses nor
 * repeats an event, whichever process made the change.
 *
 * A reader that does not keep up cannot grow memory: at most `buffer` items wait for it,
 * and while they wait the stream reads nothing more. Wakeups meanwhile coalesce into one, and
 * once the reader takes its items the stream reads on from the outbox where it stopped: a
 * slow reader is simply behind, reading the outbox at its own pace, and never loses an event.
 */
import { Duration, Effect, Option, Queue, Stream } from "effect"
import { CurrentUser } from "./CurrentUser.ts"
import type { RepositoryError } from "./Errors.ts"
import { EventFeed } from "./EventFeed.ts"
import { EventLog } from "./EventLog.ts"
import type { TaskEvent } from "./TaskEvent.ts"

export type StreamItem =
  /** Sent once, when the stream is subscribed: every change committed after it will follow. */
  | { readonly _tag: "Ready"; readonly position: number }
  | { readonly _tag: "Event"; readonly event: TaskEvent }
  | { readonly _tag: "Heartbeat" }

export interface EventStreamOptions {
  /** Resume after this position; absent: from now on. */
  readonly after?: number | undefined
  /** Items that may wait for a slow reader; the stream reads no further until it takes them. */
  readonly buffer: number
  /** How often an idle stream says it is alive. */
  readonly heartbeat: Duration.Input
  /** Events read from the outbox at a time (default 100). */
  readonly pageSize?: number | undefined
}

export const eventStream = (
  options: EventStreamOptions
): Stream.Stream<StreamItem, RepositoryError, CurrentUser | EventLog | EventFeed> =>
  Stream.callback<StreamItem, RepositoryError, CurrentUser | EventLog | EventFeed>(
    (queue) =>
      Effect.gen(function* () {
        const user = yield* CurrentUser
        const log = yield* EventLog
        const feed = yield* EventFeed
        const pageSize = options.pageSize ?? 100
        // Subscribed first: whatever commits after the position read below wakes the loop.
        const wakeups = yield* feed.subscribe(user.id)
        let position = options.after ?? (yield* log.head(user.id))

        // Offers wait while the buffer is full: that is the back-pressure on a slow reader.
        const send = (item: StreamItem) => Queue.offer(queue, item)

        yield* send({ _tag: "Ready", position })
        yield* send({ _tag: "Heartbeat" }).pipe(
          Effect.delay(options.heartbeat),
          Effect.forever,
          Effect.forkScoped
        )
        for (;;) {
          const page = yield* log.list(user.id, { order: "asc", after: position, limit: pageSize })
          for (const event of page.items) {
            yield* send({ _tag: "Event", event })
            position = event.position
          }
          if (Option.isNone(page.next)) yield* wakeups.next
        }
      }).pipe(Effect.catch((error: RepositoryError) => Queue.fail(queue, error))),
    { bufferSize: Math.max(1, Math.floor(options.buffer)), strategy: "suspend" }
  )

/** The default heartbeat interval of event streams. */
export const DEFAULT_HEARTBEAT = Duration.seconds(15)
