/**
 * `EventSink` over NATS JetStream (`@nats-io/transport-node`, `@nats-io/jetstream`): each
 * event is published to `<prefix>.<type>` (`taskport.events.task.created`, ...) with its id
 * as `Nats-Msg-Id`, so the stream drops a repeat within its duplicate window; the stream is
 * created when missing. The connection reconnects by itself; while the broker is away a
 * publish times out, and the publisher tries again in its next round.
 */

import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { EventSink, TaskEvent } from "@taskport/core"
import { Effect, Layer, Schedule, Schema, type Scope } from "effect"

export interface NatsOptions {
  readonly url: string
  /** The stream's name (default `TASKPORT_EVENTS`). */
  readonly stream?: string | undefined
  /** The subjects' prefix (default `taskport.events`). */
  readonly subjectPrefix?: string | undefined
  /** How long a publish waits for the stream's acknowledgement (default 5 s). */
  readonly publishTimeoutMs?: number | undefined
}

/** Repeats within this window are dropped by the stream. */
const DUPLICATE_WINDOW_MS = 10 * 60_000

const encodeEvent = Schema.encodeSync(TaskEvent)

/** The stream exists and captures the prefix's subjects. */
const ensureStream = async (nc: NatsConnection, name: string, prefix: string) => {
  const manager = await jetstreamManager(nc)
  try {
    await manager.streams.info(name)
  } catch {
    await manager.streams.add({
      name,
      subjects: [`${prefix}.>`],
      duplicate_window: DUPLICATE_WINDOW_MS * 1_000_000
    })
  }
}

/** Connects (retrying until the broker answers) for as long as the scope is open. */
export const make = (options: NatsOptions): Effect.Effect<EventSink["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const stream = options.stream ?? "TASKPORT_EVENTS"
    const prefix = options.subjectPrefix ?? "taskport.events"
    const timeout = options.publishTimeoutMs ?? 5_000
    const nc = yield* Effect.acquireRelease(
      Effect.tryPromise(() =>
        connect({ servers: options.url, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 2_000 })
      ).pipe(
        Effect.tapError(() => Effect.logWarning("NATS is unreachable; retrying")),
        Effect.retry({ schedule: Schedule.spaced("1 second") }),
        // Retried without end: only an interruption (shutdown) stops it.
        Effect.orDie
      ),
      (connection) => Effect.promise(() => connection.close())
    )
    let ready = false
    const js: JetStreamClient = jetstream(nc)
    const publishOne = async (event: TaskEvent) => {
      if (!ready) {
        await ensureStream(nc, stream, prefix)
        ready = true
      }
      await js.publish(`${prefix}.${event.type}`, JSON.stringify(encodeEvent(event)), {
        msgID: event.id,
        timeout
      })
    }
    return EventSink.of({
      publish: (events) =>
        Effect.withSpan(
          Effect.promise(async () => {
            let published = 0
            for (const event of events) {
              try {
                await publishOne(event)
              } catch {
                break
              }
              published++
            }
            return published
          }),
          "NatsEventSink.publish",
          { captureStackTrace: false }
        )
    })
  })

export const layer = (options: NatsOptions): Layer.Layer<EventSink> => Layer.effect(EventSink, make(options))
