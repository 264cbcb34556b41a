/**
 * The typed failures of the core. Each is a schema-backed tagged error, so adapters can
 * serialise it, match it by `_tag`, and map it to their surface in one place.
 */
import { Schema } from "effect"
import { ConversationId } from "./Conversation.ts"
import { TaskId } from "./Task.ts"

export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", { id: TaskId }) {
  override get message(): string {
    return `Task ${this.id} not found`
  }
}

export class ConversationNotFound extends Schema.TaggedError<ConversationNotFound>()("ConversationNotFound", {
  id: ConversationId
}) {
  override get message(): string {
    return `Conversation ${this.id} not found`
  }
}

export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  id: TaskId,
  expected_version: Schema.Int,
  current_version: Schema.Int
}) {
  override get message(): string {
    return `Task ${this.id} is at version ${this.current_version}, not ${this.expected_version}; read it again and retry`
  }
}

/**
 * Infrastructure failure (database unreachable, deadlock, ...). `retryable` tells clients
 * whether trying again later can help. The message is generic on purpose: the underlying
 * cause (possibly holding SQL text) is kept out of the serialised form.
 */
export class RepositoryError extends Schema.TaggedError<RepositoryError>()("RepositoryError", {
  retryable: Schema.Boolean,
  reason: Schema.String
}) {
  override get message(): string {
    return this.retryable
      ? "The database is unavailable; try again shortly"
      : "The database could not complete the request"
  }
}

/** The bearer token is missing or could not be verified. */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()("Unauthenticated", {
  reason: Schema.Literals([
    "missing",
    "malformed",
    "expired",
    "bad_signature",
    "wrong_issuer",
    "wrong_audience",
    "invalid"
  ]),
  description: Schema.String
}) {
  override get message(): string {
    return this.description
  }
}

/** One problem with an input value, named by the dotted path of the field it concerns. */
export const FieldIssue = Schema.Struct({ field: Schema.String, message: Schema.String })
export type FieldIssue = typeof FieldIssue.Type

/**
 * The input of an operation did not match its schema. `issues` names every field at fault,
 * so each surface can report them in its own shape without decoding the input again.
 */
export class InvalidParameters extends Schema.TaggedError<InvalidParameters>()("InvalidParameters", {
  issues: Schema.Array(FieldIssue)
}) {
  override get message(): string {
    return this.issues
      .map((issue) => (issue.field === "" ? issue.message : `${issue.field}: ${issue.message}`))
      .join("; ")
  }
}

/** A listing cursor that no listing with these filters, sort and order handed out. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {}) {
  override get message(): string {
    return "cursor: is not a next_cursor from a listing with the same sort and order"
  }
}

/** A tool name that names no `todo_*` operation. */
export class UnknownTool extends Schema.TaggedError<UnknownTool>()("UnknownTool", { name: Schema.String }) {
  override get message(): string {
    return `There is no tool named ${this.name}`
  }
}

/** An idempotency key already used for a different request: nothing was written. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  field: Schema.String
}) {
  override get message(): string {
    return `${this.field}: was already used for a different request; use a new key for a new request`
  }
}

/** The first request with this idempotency key is still running: retry once it has answered. */
export class IdempotencyKeyInFlight extends Schema.TaggedError<IdempotencyKeyInFlight>()(
  "IdempotencyKeyInFlight",
  { field: Schema.String }
) {
  override get message(): string {
    return `${this.field}: a request with this key is still being processed; retry shortly`
  }
}

/** A write that would take the user past one of their quotas; `quota` names which. */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  quota: Schema.Literals([
    "tasks_per_user",
    "conversations_per_user",
    "messages_per_conversation",
    "webhooks_per_user"
  ]),
  limit: Schema.Int
}) {
  override get message(): string {
    const what = {
      tasks_per_user: `tasks per user, the trash included; delete some for good to make room`,
      conversations_per_user: `conversations per user; delete some to make room`,
      messages_per_conversation: `messages per conversation; start a new conversation`,
      webhooks_per_user: `webhook endpoints per user; delete one to make room`
    }[this.quota]
    return `Quota ${this.quota} reached: at most ${this.limit} ${what}`
  }
}

/** The user's model tokens for the day are spent; `resets_at` says when more are granted. */
export class TokenBudgetExceeded extends Schema.TaggedError<TokenBudgetExceeded>()("TokenBudgetExceeded", {
  limit: Schema.Int,
  resets_at: Schema.String
}) {
  override get message(): string {
    return `Daily token budget of ${this.limit} model tokens used up; it resets at ${this.resets_at}`
  }
}

/** A webhook endpoint that is missing or belongs to another user: both read the same. */
export class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()("WebhookNotFound", {
  id: Schema.String
}) {
  override get message(): string {
    return `Webhook ${this.id} not found`
  }
}
