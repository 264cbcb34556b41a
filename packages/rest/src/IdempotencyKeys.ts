/**
 * The `Idempotency-Key` request header on task writes (IETF httpapi Idempotency-Key draft):
 * a keyed request runs through the core's `IdempotencyStore`, which keeps the first answer's
 * status, body, ETag and Location with the write, in one transaction, and replays them for
 * a retry with the same request. Keys are per user; the request is fingerprinted here.
 */
import { IdempotencyKey, IdempotencyStore, type UserId } from "@taskport/core"
import { Effect, Schema } from "effect"
import { fromToolFailure, type HttpFailure } from "./HttpFailure.ts"
import { decodeOrFail } from "./RequestDecoding.ts"
import { Answer } from "./Responses.ts"

/** The request header a write reads; the document shows it from here. */
export const IdempotencyHeaders = Schema.Struct({
  "Idempotency-Key": Schema.optionalKey(
    IdempotencyKey.annotate({
      description:
        "Any unique string; a retry with the same key and request replays the first answer (24 hours by default). Another request with the key is refused with 422; one sent while the first still runs gets 409."
    })
  )
})

/** An answer as kept for replay. */
export const StoredAnswer = Schema.Struct({
  status: Schema.Int,
  body: Schema.NullOr(Schema.Unknown),
  etag: Schema.optionalKey(Schema.String),
  location: Schema.optionalKey(Schema.String)
})
export type StoredAnswer = typeof StoredAnswer.Type

export const toResponse = (answer: StoredAnswer): Answer => {
  const headers: Record<string, string> = {}
  if (answer.body !== null) headers["content-type"] = "application/json"
  if (answer.etag !== undefined) headers.etag = answer.etag
  if (answer.location !== undefined) headers.location = answer.location
  return new Answer(answer.body === null ? null : JSON.stringify(answer.body), {
    status: answer.status,
    headers
  })
}

const decodeAnswer = Schema.decodeUnknownSync(StoredAnswer)
const codec = { encode: (answer: StoredAnswer): unknown => answer, decode: decodeAnswer }

/** The key a request carries, checked; none when the header is absent. */
export const keyOf = (request: Request): Effect.Effect<string | undefined, HttpFailure> => {
  const header = request.headers.get("idempotency-key")
  if (header === null) return Effect.succeed(undefined)
  // The draft's header is a structured-field string: the quotes are optional here.
  const key = /^".*"$/.test(header) ? header.slice(1, -1) : header
  return Effect.map(
    decodeOrFail(Schema.Struct({ "Idempotency-Key": IdempotencyKey }), { "Idempotency-Key": key }, "header"),
    (headers) => headers["Idempotency-Key"]
  )
}

/**
 * Runs `work` once for the user's key: a retry of the same request replays its answer. What
 * identifies the request is its method, operation, path parameters, body and If-Match.
 */
export const once = <R>(
  user: UserId,
  key: string | undefined,
  request: { readonly method: string; readonly operation: string; readonly identity: unknown },
  work: Effect.Effect<StoredAnswer, HttpFailure, R>
): Effect.Effect<StoredAnswer, HttpFailure, R | IdempotencyStore> =>
  key === undefined
    ? work
    : Effect.gen(function* () {
        const store = yield* IdempotencyStore
        return yield* store
          .run(
            {
              owner: user,
              key,
              fingerprint: `${request.method} ${request.operation} ${JSON.stringify(request.identity)}`,
              field: "Idempotency-Key"
            },
            work,
            codec
          )
          .pipe(
            Effect.mapError((failure) =>
              failure._tag === "HttpFailure" ? failure : fromToolFailure(failure)
            )
          )
      })
