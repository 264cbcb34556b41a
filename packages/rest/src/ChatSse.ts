/**
 * A chat turn as server-sent events, framed by Effect's SSE encoder: `tool_call`,
 * `tool_result` and `delta` events as the turn runs, then `done` with the JSON answer's
 * payload. The first event is awaited before answering, so a model that fails at once still
 * gets its proper status (503); a failure after that ends the stream with an `error` event,
 * since the 200 status is already sent.
 */
import { type ChatEvent, ChatReply } from "@taskport/core"
import { Cause, Effect, Option, Schema, Stream } from "effect"
import * as Sse from "effect/encoding/Sse"
import { HTTPResponse } from "h3"
import {
  type ChatFailure,
  errorBody,
  fromChatFailure,
  type HttpFailure,
  internalError
} from "./HttpFailure.ts"

const encodeReply = Schema.encodeSync(ChatReply)
const textEncoder = new TextEncoder()

const frame = (event: string, data: string): Uint8Array =>
  textEncoder.encode(Sse.encoder.write({ _tag: "Event", event, id: undefined, data }))

const eventFrame = (event: ChatEvent): Uint8Array => {
  switch (event.type) {
    case "delta":
      return frame("delta", JSON.stringify({ text: event.text }))
    case "tool_call":
      return frame("tool_call", JSON.stringify(event.call))
    case "tool_result":
      return frame("tool_result", JSON.stringify(event.call))
    case "done":
      return frame("done", JSON.stringify(encodeReply(event.reply)))
  }
}

type Frame = { readonly bytes: Uint8Array } | { readonly failure: HttpFailure }

/**
 * The streaming answer for a turn's events. `onDefect` receives what is not a chat failure
 * (the client gets only the request id for it).
 */
export const sseResponse = (
  events: Stream.Stream<ChatEvent, ChatFailure>,
  requestId: string,
  onDefect: (cause: Cause.Cause<unknown>) => void
): Effect.Effect<HTTPResponse, HttpFailure> =>
  Effect.gen(function* () {
    const frames: Stream.Stream<Frame> = events.pipe(
      Stream.map((event): Frame => ({ bytes: eventFrame(event) })),
      Stream.catchCause((cause) => {
        const error = Cause.findErrorOption(cause)
        if (Option.isSome(error)) return Stream.succeed<Frame>({ failure: fromChatFailure(error.value) })
        onDefect(cause)
        return Stream.succeed<Frame>({ failure: internalError() })
      })
    )
    const reader = Stream.toReadableStream(frames).getReader()
    const first = yield* Effect.promise(() => reader.read())
    if (!first.done && "failure" in first.value) {
      reader.releaseLock()
      return yield* Effect.fail(first.value.failure)
    }
    const toBytes = (item: Frame) =>
      "bytes" in item ? item.bytes : frame("error", errorBody(item.failure, requestId))
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        if (first.done) controller.close()
        else controller.enqueue(toBytes(first.value))
      },
      pull: async (controller) => {
        const next = await reader.read()
        if (next.done) controller.close()
        else controller.enqueue(toBytes(next.value))
      },
      cancel: (reason) => reader.cancel(reason)
    })
    return new HTTPResponse(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no"
      }
    })
  })
