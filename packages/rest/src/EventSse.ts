/**
 * A user's event stream as server-sent events: each event as `id:` (its position, what a
 * reconnecting client sends back as `Last-Event-ID`), `event:` (its type) and `data:` (the
 * event as JSON); comments for the rest (`: ready`, `: heartbeat`, `: error`),
 * which clients ignore. A stream that fails after it started ends with an `: error` comment;
 * the client reconnects and resumes.
 */
import { type StreamItem, TaskEvent } from "@taskport/core"
import { Effect, type Stream as EffectStream, Schema, Stream } from "effect"
import * as Sse from "effect/encoding/Sse"
import { HTTPResponse } from "h3"

const encodeEvent = Schema.encodeSync(TaskEvent)
const textEncoder = new TextEncoder()

/** How long a client waits before reconnecting after the stream ends, in milliseconds. */
export const RETRY_MS = 1000

const comment = (text: string) => textEncoder.encode(`: ${text}\n\n`)

export const frameOf = (item: StreamItem): Uint8Array => {
  switch (item._tag) {
    case "Ready":
      return textEncoder.encode(`retry: ${RETRY_MS}\n: ready after ${item.position}\n\n`)
    case "Heartbeat":
      return comment("heartbeat")
    case "Event":
      return textEncoder.encode(
        Sse.encoder.write({
          _tag: "Event",
          event: item.event.type,
          id: String(item.event.position),
          data: JSON.stringify(encodeEvent(item.event))
        })
      )
  }
}

/** The streaming response; `onFailure` hears of a failure that ended a started stream. */
export const sseResponse = <E, R>(
  items: EffectStream.Stream<StreamItem, E, R>,
  onFailure: (error: unknown) => void
): Effect.Effect<HTTPResponse, never, R> =>
  Effect.map(
    Stream.toReadableStreamEffect(
      items.pipe(
        Stream.map(frameOf),
        Stream.catchCause((cause) => {
          onFailure(cause)
          return Stream.succeed(comment("error; reconnect with Last-Event-ID"))
        })
      )
    ),
    (body) =>
      new HTTPResponse(body, {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          "x-accel-buffering": "no"
        }
      })
  )
