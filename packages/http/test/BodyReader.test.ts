/**
 * The shared body reader on web requests: the declared length refused before reading, an
 * undeclared (streamed) body cut off once past the limit, the media type checked before
 * reading, and a missing body told apart from an empty one.
 */
import { describe, expect, it } from "@effect/vitest"
import { BodyReader } from "@taskport/http"
import { Effect } from "effect"

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request("http://test.local/x", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" } : {})
  } as RequestInit)

const streamOf = (chunks: number, size: number) => {
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull: (controller) => {
      if (sent++ === chunks) controller.close()
      else controller.enqueue(new Uint8Array(size).fill(0x20))
    }
  })
}

describe("BodyReader", () => {
  it.effect("O1: reads a body within the limit, and answers undefined when there is none", () =>
    Effect.gen(function* () {
      expect(yield* BodyReader.readText(post('{"a":1}'), { limit: 100 })).toBe('{"a":1}')
      const none = new Request("http://test.local/x", { method: "POST" })
      expect(yield* BodyReader.readText(none, { limit: 100 })).toBeUndefined()
    })
  )

  it.effect("O2: a declared length above the limit and a streamed body past it are both refused", () =>
    Effect.gen(function* () {
      const declared = yield* Effect.flip(
        BodyReader.readText(post("x".repeat(200), { "content-length": "200" }), { limit: 100 })
      )
      expect(declared).toMatchObject({ _tag: "BodyTooLarge", limit: 100 })
      const streamed = yield* Effect.flip(BodyReader.readText(post(streamOf(10, 64)), { limit: 100 }))
      expect(streamed).toMatchObject({ _tag: "BodyTooLarge", limit: 100 })
      expect(yield* BodyReader.readText(post(streamOf(1, 64)), { limit: 100 })).toHaveLength(64)
    })
  )

  it.effect("O3: a body of another media type is refused when the caller names one", () =>
    Effect.gen(function* () {
      const options = { limit: 100, mediaType: BodyReader.JSON_MEDIA_TYPE }
      const text = yield* Effect.flip(
        BodyReader.readText(post("a=1", { "content-type": "text/plain" }), options)
      )
      expect(text._tag).toBe("UnsupportedMediaType")
      const problem = post("{}", { "content-type": "application/problem+json; charset=utf-8" })
      expect(yield* BodyReader.readText(problem, options)).toBe("{}")
      expect(BodyReader.isJson(null)).toBe(false)
    })
  )
})
