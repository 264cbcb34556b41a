/**
 * The chat use cases' contract: their parameters and answers as schemas, their errors, the
 * options an embedder sets and the service's shape. REST, the OpenAPI document and embedding
 * code read these without the implementation in `ChatService.ts`.
 */
import { type Effect, Schema, type Stream } from "effect"
import type { AgentError, AgentEvent } from "./AgentRunner.ts"
import { Conversation, ConversationId, Message, TokenUsage, ToolCall } from "./Conversation.ts"
import type { CurrentUser } from "./CurrentUser.ts"
import type {
  ConversationNotFound,
  InvalidCursor,
  InvalidParameters,
  QuotaExceeded,
  RepositoryError,
  TokenBudgetExceeded
} from "./Errors.ts"
import { PendingActionId, PendingActionView } from "./PendingActions.ts"
import { boundedText, PageLimit } from "./Task.ts"

export const MAX_MESSAGE_LENGTH = 4000
export const MAX_TITLE_LENGTH = 80
export const DEFAULT_HISTORY_LIMIT = 30

export const ChatMessageText = boundedText({
  max: MAX_MESSAGE_LENGTH,
  what: "message",
  description: "What the user says to the agent, 1 to 4000 characters."
})

export const ChatTurnParams = Schema.Struct({
  message: Schema.optionalKey(ChatMessageText),
  conversation_id: Schema.optionalKey(
    Schema.NullOr(ConversationId).annotate({
      description: "The conversation to continue; leave it out (or null) to start a new one."
    })
  ),
  confirm: Schema.optionalKey(
    PendingActionId.annotate({
      description: "Carry out this pending action of the conversation, instead of a message."
    })
  ),
  decline: Schema.optionalKey(
    PendingActionId.annotate({
      description: "Drop this pending action of the conversation, instead of a message."
    })
  )
}).annotate({ identifier: "ChatRequest", description: "One user message for the agent." })
export type ChatTurnParams = typeof ChatTurnParams.Encoded

export const ChatReply = Schema.Struct({
  conversation_id: ConversationId,
  agent_response: Schema.String.annotate({ description: "The agent's answer." }),
  tool_calls: Schema.Array(ToolCall).annotate({
    description: "The tools the agent called for this answer, with their arguments and results."
  }),
  pending_action: Schema.optionalKey(PendingActionView),
  usage: TokenUsage.annotate({ description: "Model tokens this turn used (zero offline)." })
}).annotate({ identifier: "ChatResponse", description: "The agent's answer to one message." })
export type ChatReply = typeof ChatReply.Type

export const ConversationTitle = boundedText({
  max: MAX_TITLE_LENGTH,
  what: "title",
  description: "The conversation's title, 1 to 80 characters (trimmed)."
})

export const RenameConversationParams = Schema.Struct({ title: ConversationTitle }).annotate({
  identifier: "RenameConversation",
  description: "A new title for a conversation."
})
export type RenameConversationParams = typeof RenameConversationParams.Encoded

const PageCursor = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1000)).annotate({
  description: "The next_cursor of the previous page."
})

export const ListConversationsParams = Schema.Struct({
  cursor: Schema.optionalKey(PageCursor),
  limit: Schema.optionalKey(PageLimit)
})
export type ListConversationsParams = typeof ListConversationsParams.Encoded

export const ListMessagesParams = ListConversationsParams
export type ListMessagesParams = ListConversationsParams

const nextCursor = Schema.NullOr(Schema.String).annotate({
  description: "Pass as cursor to get the next page; null when there is no more."
})

export const ConversationPage = Schema.Struct({
  items: Schema.Array(Conversation),
  next_cursor: nextCursor
}).annotate({ identifier: "ConversationPage", description: "One page of conversations, newest first." })
export type ConversationPage = typeof ConversationPage.Type

export const MessagePage = Schema.Struct({
  items: Schema.Array(Message),
  next_cursor: nextCursor
}).annotate({
  identifier: "MessagePage",
  description: "One page of a conversation's messages, oldest first."
})
export type MessagePage = typeof MessagePage.Type

/** What a streamed turn reports: the agent's events, then `done` with the stored reply. */
export type ChatEvent =
  | Exclude<AgentEvent, { readonly type: "done" }>
  | { readonly type: "done"; readonly reply: ChatReply }

/** Input a chat use case refuses: parameters that do not decode, or a cursor it did not hand out. */
export type ChatInputError = InvalidParameters | InvalidCursor

export type ChatTurnError =
  | ChatInputError
  | ConversationNotFound
  | AgentError
  | QuotaExceeded
  | TokenBudgetExceeded
  | RepositoryError

export interface ChatServiceShape {
  readonly turn: (params: ChatTurnParams) => Effect.Effect<ChatReply, ChatTurnError, CurrentUser>
  /**
   * Checks the input, finds or creates the conversation and stores the user message before
   * the returned stream exists; the stream then runs the agent and stores its reply.
   */
  readonly turnStream: (
    params: ChatTurnParams
  ) => Effect.Effect<
    Stream.Stream<ChatEvent, AgentError | ConversationNotFound | RepositoryError>,
    ChatInputError | ConversationNotFound | QuotaExceeded | TokenBudgetExceeded | RepositoryError,
    CurrentUser
  >
  readonly listConversations: (
    params: ListConversationsParams
  ) => Effect.Effect<ConversationPage, ChatInputError | RepositoryError, CurrentUser>
  readonly listMessages: (
    conversationId: string,
    params: ListMessagesParams
  ) => Effect.Effect<MessagePage, ChatInputError | ConversationNotFound | RepositoryError, CurrentUser>
  readonly deleteConversation: (
    conversationId: string
  ) => Effect.Effect<void, ChatInputError | ConversationNotFound | RepositoryError, CurrentUser>
  readonly readConversation: (
    conversationId: string
  ) => Effect.Effect<Conversation, ChatInputError | ConversationNotFound | RepositoryError, CurrentUser>
  readonly renameConversation: (
    conversationId: string,
    params: RenameConversationParams
  ) => Effect.Effect<Conversation, ChatInputError | ConversationNotFound | RepositoryError, CurrentUser>
}

export interface ChatOptions {
  /** How many recent messages the agent sees (default 30), so a turn's cost stays flat. */
  readonly historyLimit?: number | undefined
  /**
   * Ask before destructive calls (default true). Turn it off where the embedder asks the user
   * itself; the calls then run at once, as over MCP.
   */
  readonly confirmDestructive?: boolean | undefined
  /**
   * Model tokens a user's turns may use per UTC day (default 0: unlimited). A turn is
   * refused before the model is called once the day's usage reached it; the per-turn cap
   * of the agent runner bounds how far the last turn can go past it.
   */
  readonly dailyTokenBudget?: number | undefined
}
