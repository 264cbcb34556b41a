/**
 * The chat domain: conversations and their messages, including the tool calls an agent made
 * while answering, so that any process can rebuild a conversation from the database.
 */
import { Schema } from "effect"

export const ConversationId = Schema.String.check(Schema.isUUID())
  .pipe(Schema.brand("ConversationId"))
  .annotate({ description: "The conversation's id (a UUID)." })
export type ConversationId = typeof ConversationId.Type

export const MessageRole = Schema.Literals(["user", "assistant"]).annotate({
  description: "Who wrote the message."
})
export type MessageRole = typeof MessageRole.Type

export const ToolCall = Schema.Struct({
  id: Schema.String.annotate({ description: "The tool call's id, as given by the agent." }),
  name: Schema.String.annotate({ description: "The tool that was called, such as todo_create." }),
  arguments: Schema.Unknown.annotate({ description: "The arguments the agent passed." }),
  result: Schema.Unknown.annotate({ description: "What the tool returned, or the error it reported." }),
  is_error: Schema.Boolean.annotate({ description: "Whether the call failed." })
}).annotate({ identifier: "ToolCall" })
export type ToolCall = typeof ToolCall.Type

const TokenCount = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** Model tokens a turn (or a whole conversation) used; the offline interpreter uses none. */
export const TokenUsage = Schema.Struct({
  input_tokens: TokenCount.annotate({ description: "Tokens sent to the model." }),
  output_tokens: TokenCount.annotate({ description: "Tokens the model wrote." }),
  total_tokens: TokenCount.annotate({ description: "Input and output tokens together." })
}).annotate({ identifier: "TokenUsage" })
export type TokenUsage = typeof TokenUsage.Type

export const NO_TOKENS: TokenUsage = { input_tokens: 0, output_tokens: 0, total_tokens: 0 }

export const addUsage = (a: TokenUsage, b: TokenUsage): TokenUsage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
  total_tokens: a.total_tokens + b.total_tokens
})

export const Message = Schema.Struct({
  id: Schema.Int.annotate({ description: "The message's id." }),
  conversation_id: ConversationId,
  role: MessageRole,
  content: Schema.String.annotate({ description: "The message text." }),
  tool_calls: Schema.Array(ToolCall).annotate({ description: "Tool calls made while writing this message." }),
  usage: Schema.optionalKey(
    TokenUsage.annotate({ description: "Model tokens used to write this message (zero for the user's)." })
  ),
  created_at: Schema.String.annotate({ description: "When the message was stored (ISO 8601)." })
}).annotate({ identifier: "Message" })
export type Message = typeof Message.Type

export const Conversation = Schema.Struct({
  id: ConversationId,
  title: Schema.String.annotate({ description: "Taken from the conversation's first message." }),
  created_at: Schema.String.annotate({ description: "When the conversation started (ISO 8601)." }),
  updated_at: Schema.String.annotate({ description: "When the last message was stored (ISO 8601)." }),
  usage: Schema.optionalKey(TokenUsage.annotate({ description: "Model tokens used by all its turns." }))
}).annotate({ identifier: "Conversation" })
export type Conversation = typeof Conversation.Type
