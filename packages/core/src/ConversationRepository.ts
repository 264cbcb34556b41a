/**
 * Port for storing conversations and their messages. Messages of one conversation have a
 * total order (a per-conversation sequence), so concurrent turns never interleave ambiguously.
 */
import { Context, type Effect, type Option } from "effect"
import type {
  Conversation,
  ConversationId,
  Message,
  MessageRole,
  TokenUsage,
  ToolCall
} from "./Conversation.ts"
import type { UserId } from "./CurrentUser.ts"
import type { QuotaExceeded, RepositoryError } from "./Errors.ts"
import type { QuotaBound } from "./Quotas.ts"

export interface NewMessage {
  readonly role: MessageRole
  readonly content: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  /** Model tokens used to write it; also added to the conversation's totals. */
  readonly usage?: TokenUsage | undefined
}

export interface ConversationSlice {
  readonly items: ReadonlyArray<Conversation>
  readonly next: Option.Option<{ readonly updatedAt: string; readonly id: string }>
}

/** Room a message must find in its conversation: `reserve` messages within `bound`. */
export interface MessageRoom {
  readonly bound: QuotaBound
  readonly reserve: number
}

export interface MessageSlice {
  readonly items: ReadonlyArray<Message>
  readonly next: Option.Option<number>
}

export class ConversationRepository extends Context.Service<
  ConversationRepository,
  {
    readonly create: (owner: UserId, title: string) => Effect.Effect<Conversation, RepositoryError>
    /** Creates the conversation unless the owner is at `bound`, then refused with `QuotaExceeded`. */
    readonly createWithin: (
      owner: UserId,
      title: string,
      bound: QuotaBound | undefined
    ) => Effect.Effect<Conversation, RepositoryError | QuotaExceeded>
    readonly find: (
      owner: UserId,
      id: ConversationId
    ) => Effect.Effect<Option.Option<Conversation>, RepositoryError>
    /** Newest first. */
    readonly list: (
      owner: UserId,
      options: {
        readonly limit: number
        readonly after?: { readonly updatedAt: string; readonly id: string }
      }
    ) => Effect.Effect<ConversationSlice, RepositoryError>
    readonly delete: (owner: UserId, id: ConversationId) => Effect.Effect<boolean, RepositoryError>
    /** Sets the title, leaving `updated_at` (the last message's time) as it is; none when not the owner's. */
    readonly rename: (
      owner: UserId,
      id: ConversationId,
      title: string
    ) => Effect.Effect<Option.Option<Conversation>, RepositoryError>
    /** Appends at the end of the conversation's order; none when the conversation is not the owner's. */
    readonly append: (
      owner: UserId,
      id: ConversationId,
      message: NewMessage
    ) => Effect.Effect<Option.Option<Message>, RepositoryError>
    /**
     * As `append`, but refused with `QuotaExceeded` unless the conversation can take
     * `room.reserve` more messages (this one included) within `room.bound`.
     */
    readonly appendWithin: (
      owner: UserId,
      id: ConversationId,
      message: NewMessage,
      room: MessageRoom | undefined
    ) => Effect.Effect<Option.Option<Message>, RepositoryError | QuotaExceeded>
    /** The last `limit` messages, oldest first; empty for a conversation that is not the owner's. */
    readonly recent: (
      owner: UserId,
      id: ConversationId,
      limit: number
    ) => Effect.Effect<ReadonlyArray<Message>, RepositoryError>
    /** Messages in order, from the start or after a message id. */
    readonly messages: (
      owner: UserId,
      id: ConversationId,
      options: { readonly limit: number; readonly after?: number }
    ) => Effect.Effect<MessageSlice, RepositoryError>
  }
>()("@taskport/core/ConversationRepository") {}
