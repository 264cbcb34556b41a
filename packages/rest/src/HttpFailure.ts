/**
 * The REST error vocabulary: one JSON shape `{ error: { code, message, details? } }` with
 * stable codes, and the one place where core failures are mapped to HTTP statuses. Nothing
 * from a cause (stack, SQL, secret) is ever copied into a response.
 */
import {
  AgentError,
  ConversationNotFound,
  describeSchemaError,
  type RepositoryError,
  type ToolFailure
} from "@taskport/core"
import { Data, Schema } from "effect"
import { HTTPResponse } from "h3"

export type ErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "version_conflict"
  | "precondition_failed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "service_unavailable"
  | "model_unavailable"
  | "internal_error"

export interface FieldIssue {
  readonly field: string
  readonly message: string
}

/** A failure that has already been given its HTTP form. */
export class HttpFailure extends Data.TaggedError("HttpFailure")<{
  readonly status: number
  readonly code: ErrorCode
  readonly message: string
  readonly details?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}> {}

/** Shorthand constructor, so call sites read like a status line. */
export const httpFailure = (
  status: number,
  code: ErrorCode,
  message: string,
  details?: unknown,
  headers?: Readonly<Record<string, string>>
): HttpFailure => new HttpFailure({ status, code, message, details, headers })

export const errorBody = (code: ErrorCode, message: string, details?: unknown) =>
  JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } })

export const failureResponse = (failure: HttpFailure): HTTPResponse =>
  new HTTPResponse(errorBody(failure.code, failure.message, failure.details), {
    status: failure.status,
    headers: { "content-type": "application/json", ...failure.headers }
  })

export const invalidRequest = (message: string, issues: ReadonlyArray<FieldIssue>) =>
  httpFailure(400, "invalid_request", message, { issues })

export const notFound = (message = "No such resource") => httpFailure(404, "not_found", message)

export const RETRY_AFTER_SECONDS = 2

/** Maps a tool failure to HTTP. */
export const fromToolFailure = (cause: ToolFailure): HttpFailure => {
  switch (cause._tag) {
    case "InvalidParameters":
      return invalidRequest(`Invalid request: ${cause.message}`, cause.issues)
    case "InvalidCursor":
      return invalidRequest(`Invalid request: ${cause.message}`, [
        { field: "cursor", message: "is not a next_cursor from a listing with the same sort and order" }
      ])
    case "TaskNotFound":
      return notFound(cause.message)
    case "VersionConflict":
      return httpFailure(409, "version_conflict", cause.message, { current_version: cause.current_version })
    case "RepositoryError":
      return cause.retryable
        ? httpFailure(503, "service_unavailable", cause.message, undefined, {
            "retry-after": String(RETRY_AFTER_SECONDS)
          })
        : httpFailure(500, "internal_error", cause.message)
    case "UnknownTool":
      return notFound(`Unknown operation ${cause.name}`)
  }
}

/**
 * Maps a chat failure to HTTP. A failing model is 503 `model_unavailable` (the user's
 * message is already stored, so the client may simply retry the turn).
 */
export const fromChatFailure = (
  failure: Schema.SchemaError | ConversationNotFound | AgentError | RepositoryError
): HttpFailure => {
  if (Schema.isSchemaError(failure)) {
    return invalidRequest(`Invalid request: ${describeSchemaError(failure)}`, [])
  }
  if (failure instanceof ConversationNotFound) return notFound(failure.message)
  if (failure instanceof AgentError) {
    // Retry-After only when the model said when to come back; no guess is made for it.
    return httpFailure(
      503,
      "model_unavailable",
      `${failure.message}; your message was saved`,
      { reason: failure.reason },
      failure.retryAfterSeconds === undefined
        ? undefined
        : { "retry-after": String(failure.retryAfterSeconds) }
    )
  }
  return fromToolFailure(failure)
}
