/**
 * Conditional requests on tasks (RFC 9110 section 13): a task's ETag is its version, If-Match
 * on a write becomes the tool's `expected_version` (a stale one answers 412 rather than 409),
 * and If-None-Match on a read answers 304 while the task is unchanged.
 */
import { Effect, Schema } from "effect"
import { type HttpFailure, preconditionFailed } from "./HttpFailure.ts"

/** The request headers a conditional write reads; the document shows them from here. */
export const ConditionalWriteHeaders = Schema.Struct({
  "If-Match": Schema.optionalKey(
    Schema.String.annotate({
      description: "An ETag from a previous response; a stale one is refused with 412."
    })
  )
})

/** The request header a conditional read reads. */
export const ConditionalReadHeaders = Schema.Struct({
  "If-None-Match": Schema.optionalKey(
    Schema.String.annotate({ description: "An ETag; 304 when the task is still at that version." })
  )
})

export const etagOf = (version: number): string => `"v${version}"`

/** The version of an encoded task, 0 for anything that is not one. */
export const versionOf = (encoded: unknown): number =>
  typeof encoded === "object" &&
  encoded !== null &&
  typeof (encoded as { version?: unknown }).version === "number"
    ? (encoded as { version: number }).version
    : 0

/** The versions named by an If-Match header; `"any"` for `*`. Unparseable tags match nothing. */
const parseIfMatch = (header: string): "any" | ReadonlyArray<number> => {
  if (header.trim() === "*") return "any"
  const versions: Array<number> = []
  for (const tag of header.split(",")) {
    const match = /^\s*(?:W\/)?"v(\d{1,9})"\s*$/.exec(tag)
    if (match) versions.push(Number(match[1]))
  }
  return versions
}

/**
 * The version a write must find, from If-Match: none when the header is absent or `*`; a
 * header naming no version at all can match no task, so it is refused at once.
 */
export const expectedVersion = (request: Request): Effect.Effect<number | undefined, HttpFailure> => {
  const header = request.headers.get("if-match")
  if (header === null) return Effect.succeed(undefined)
  const versions = parseIfMatch(header)
  if (versions === "any") return Effect.succeed(undefined)
  const first = versions[0]
  return first === undefined ? Effect.fail(preconditionFailed()) : Effect.succeed(first)
}

/** A version conflict on a write the client made conditional is a failed precondition. */
export const asPreconditionFailure = (failure: HttpFailure): HttpFailure =>
  failure.code === "version_conflict" ? preconditionFailed(failure.message, failure.details) : failure

/** Whether If-None-Match names the task's current ETag (or `*`), so the answer is 304. */
export const notModified = (request: Request, etag: string): boolean => {
  const header = request.headers.get("if-none-match")
  return (
    header !== null &&
    (header.trim() === "*" || header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag))
  )
}
