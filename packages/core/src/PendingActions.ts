/**
 * Confirmation before destructive chat actions. A destructive call the agent makes in chat is
 * stored as a pending action with its conversation (owner, tool, arguments, a summary naming
 * the tasks), expires after 15 minutes and is carried out at most once, when the user
 * confirms it. Nothing of it is held in memory, so any process can take the confirmation.
 */
import { Context, Duration, type Effect, type Option, Schema } from "effect"
import type { ConversationId } from "./Conversation.ts"
import type { UserId } from "./CurrentUser.ts"
import type { RepositoryError } from "./Errors.ts"

export const PENDING_ACTION_TTL = Duration.minutes(15)

export const PendingActionId = Schema.String.check(
  Schema.isPattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    message: "must be the id of a pending action"
  })
).annotate({ description: "The id of a pending action, from a reply's pending_action." })

/** What a reply says of an action waiting for the user's answer. */
export const PendingActionView = Schema.Struct({
  id: PendingActionId,
  summary: Schema.String.annotate({ description: "What will be done, naming the tasks." }),
  expires_at: Schema.String.annotate({
    description: "When the action can no longer be confirmed (ISO 8601)."
  })
}).annotate({
  identifier: "PendingAction",
  description: "A destructive action the agent asked the user to confirm or decline."
})
export type PendingActionView = typeof PendingActionView.Type

export interface PendingAction extends PendingActionView {
  readonly tool: string
  readonly arguments: unknown
}

export interface NewPendingAction {
  readonly tool: string
  readonly arguments: unknown
  readonly summary: string
}

/** Why a pending action could not be settled. */
export type Unsettled = "expired" | "confirmed" | "declined" | "superseded" | "unknown"

export type SettleOutcome =
  | { readonly _tag: "Settled"; readonly action: PendingAction }
  | { readonly _tag: "Unsettled"; readonly reason: Unsettled }

export class PendingActionRepository extends Context.Service<
  PendingActionRepository,
  {
    /** Stores an action, superseding any other still pending in the conversation. */
    readonly create: (
      owner: UserId,
      conversationId: ConversationId,
      action: NewPendingAction,
      ttl: Duration.Duration
    ) => Effect.Effect<PendingAction, RepositoryError>
    /** The conversation's pending action, when one is still open. */
    readonly open: (
      owner: UserId,
      conversationId: ConversationId
    ) => Effect.Effect<Option.Option<PendingAction>, RepositoryError>
    /** Moves a pending, unexpired action to `to`, at most once; otherwise says why not. */
    readonly settle: (
      owner: UserId,
      conversationId: ConversationId,
      id: string,
      to: "confirmed" | "declined"
    ) => Effect.Effect<SettleOutcome, RepositoryError>
  }
>()("@taskport/core/PendingActionRepository") {}
