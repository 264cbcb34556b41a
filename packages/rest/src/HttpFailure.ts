/**
 * The REST error vocabulary: one JSON shape `{ error: { code, message, details?, request_id? } }`
 * with stable codes, and the one place where every failure status is built, from the core's
 * failures and from the HTTP layer's own refusals (401, 403, 405, 409, 412, 413, 415, 422, 429, 500, 503).
 * Nothing from a cause (stack, SQL, secret) is ever copied into a response.
 */
import {
  AgentError,
  type ChatTurnError,
  ConversationNotFound,
  type QuotaExceeded,
  TokenBudgetExceeded,
  type ToolFailure
} from "@taskport/core"
import type { BodyReader } from "@taskport/http"
import { Data } from "effect"
import { Answer } from "./Responses.ts"

export type ErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "version_conflict"
  | "precondition_failed"
  | "idempotency_key_reused"
  | "idempotency_key_in_flight"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "quota_exceeded"
  | "token_budget_exceeded"
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

/**
 * The JSON text of an error. A 500 names the request id instead of any detail: it is all
 * the client can act on, by quoting it, and points the operator at the logged cause.
 */
export const errorBody = (failure: HttpFailure, requestId?: string): string =>
  JSON.stringify({
    error: {
      code: failure.code,
      message: failure.message,
      ...(failure.details === undefined ? {} : { details: failure.details }),
      ...(failure.status === 500 && requestId !== undefined ? { request_id: requestId } : {})
    }
  })

export const failureResponse = (failure: HttpFailure, requestId?: string): Answer =>
  new Answer(errorBody(failure, requestId), {
    status: failure.status,
    headers: { "content-type": "application/json", ...failure.headers }
  })

/** 401 with the bearer challenge of RFC 6750; a missing token gets the bare challenge. */
export const unauthorized = (reason: string, description: string): HttpFailure => {
  const challenge =
    reason === "missing"
      ? 'Bearer realm="taskport"'
      : `Bearer realm="taskport", error="invalid_token", error_description="${description.replace(/["\\]/g, "")}"`
  return httpFailure(401, "unauthenticated", description, undefined, { "www-authenticate": challenge })
}

export const forbiddenUser = (): HttpFailure =>
  httpFailure(403, "forbidden", "The path names another user than the token's")

export const methodNotAllowed = (path: string, allowed: ReadonlyArray<string>): HttpFailure =>
  httpFailure(405, "method_not_allowed", `Use ${allowed.join(", ")} on ${path}`, undefined, {
    allow: allowed.join(", ")
  })

export const preconditionFailed = (
  message = "If-Match names no current version of this task",
  details?: unknown
): HttpFailure => httpFailure(412, "precondition_failed", message, details)

/** A failure on our side: the message is generic unless the failure chose a safe one. */
export const internalError = (message = "Internal error"): HttpFailure =>
  httpFailure(500, "internal_error", message)

/** `/ready`'s answer while the database does not answer. */
export const notReady = (): HttpFailure =>
  httpFailure(503, "service_unavailable", "The database is not answering", undefined, {
    "retry-after": String(RETRY_AFTER_SECONDS)
  })

/** 429: over a rate limit; the headers say which and when to retry. */
export const tooManyRequests = (message: string, headers: Readonly<Record<string, string>>): HttpFailure =>
  httpFailure(429, "rate_limited", message, undefined, headers)

export const invalidJson = (message: string): HttpFailure => httpFailure(400, "invalid_json", message)

export const unsupportedMediaType = (): HttpFailure =>
  httpFailure(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json")

/** Maps the shared body reader's refusals. */
export const fromBodyError = (error: BodyReader.BodyError): HttpFailure => {
  switch (error._tag) {
    case "BodyTooLarge":
      return httpFailure(413, "payload_too_large", `Request bodies are limited to ${error.limit} bytes`)
    case "UnsupportedMediaType":
      return unsupportedMediaType()
    case "BodyUnreadable":
      return invalidJson("The request body could not be read")
  }
}

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
        : internalError(cause.message)
    case "UnknownTool":
      return notFound(`Unknown operation ${cause.name}`)
    case "IdempotencyKeyReused":
      return httpFailure(422, "idempotency_key_reused", cause.message, {
        issues: [{ field: cause.field, message: "was already used for a different request" }]
      })
    case "IdempotencyKeyInFlight":
      return httpFailure(409, "idempotency_key_in_flight", cause.message, undefined, {
        "retry-after": String(RETRY_AFTER_SECONDS)
      })
    case "QuotaExceeded":
      return quotaExceeded(cause)
  }
}

/** 403: the write would take the user past a quota; the body names it and its limit. */
export const quotaExceeded = (cause: QuotaExceeded): HttpFailure =>
  httpFailure(403, "quota_exceeded", cause.message, { quota: cause.quota, limit: cause.limit })

export type ChatFailure = ChatTurnError

/**
 * Maps a chat failure to HTTP. A failing model is 503 `model_unavailable` (the user's
 * message is already stored, so the client may simply retry the turn).
 */
export const fromChatFailure = (failure: ChatFailure): HttpFailure => {
  if (failure instanceof ConversationNotFound) return notFound(failure.message)
  if (failure instanceof TokenBudgetExceeded) {
    const seconds = Math.max(1, Math.ceil((Date.parse(failure.resets_at) - Date.now()) / 1000))
    return httpFailure(
      429,
      "token_budget_exceeded",
      failure.message,
      { limit: failure.limit, resets_at: failure.resets_at },
      { "retry-after": String(seconds) }
    )
  }
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
