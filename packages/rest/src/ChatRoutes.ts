/**
 * The chat routes: a turn with the agent (JSON, or server-sent events when the client
 * accepts them) and the stored conversations (list, messages, delete), each run for the
 * verified user through the core's `ChatService`.
 */
import {
  ChatReply,
  ChatService,
  ChatTurnParams,
  Conversation,
  ConversationPage,
  CurrentUser,
  ListConversationsParams,
  MessagePage,
  RenameConversationParams,
  type UserId
} from "@taskport/core"
import type { RequestLog } from "@taskport/http"
import { type Cause, Effect, Schema } from "effect"
import type { H3Event } from "h3"
import { sseResponse } from "./ChatSse.ts"
import { fromChatFailure } from "./HttpFailure.ts"
import { readJsonObject } from "./JsonBody.ts"
import { decodeOrFail, pathDecoder, queryDecoder } from "./RequestDecoding.ts"
import { json, noContent } from "./Responses.ts"
import type { Route, RouteResult } from "./Route.ts"
import { type ChatRoute, ConversationPath, chatRoutes, PREFIX_USER, PREFIX_V1 } from "./Routes.ts"

const decodeConversationId = pathDecoder("id", ConversationPath.fields.id)
const decodeListQuery = queryDecoder(ListConversationsParams)
const encodeList = Schema.encodeSync(ListConversationsParams)
const encodeReply = Schema.encodeSync(ChatReply)
const encodeConversations = Schema.encodeSync(ConversationPage)
const encodeMessages = Schema.encodeSync(MessagePage)
const encodeConversation = Schema.encodeSync(Conversation)

const STREAM_ACCEPT = /\btext\/event-stream\b/i

export interface ChatRouteOptions {
  readonly limit: number
  /** Receives a defect met while a turn streams, after the answer has started. */
  readonly onStreamDefect: (cause: Cause.Cause<unknown>, scope: RequestLog.RequestScope) => void
}

/** Every chat and conversation route, under both prefixes. */
export const routes = (options: ChatRouteOptions): Effect.Effect<ReadonlyArray<Route>, never, ChatService> =>
  Effect.gen(function* () {
    const chat = yield* ChatService
    const handle =
      (route: ChatRoute) =>
      (event: H3Event, scope: RequestLog.RequestScope, user: UserId): RouteResult =>
        Effect.gen(function* () {
          switch (route.kind) {
            case "chat": {
              const body = yield* readJsonObject(event.req, options.limit, route.bodyRequired ?? false)
              yield* decodeOrFail(ChatTurnParams, body, "request")
              const params = body as unknown as ChatTurnParams
              if (STREAM_ACCEPT.test(event.req.headers.get("accept") ?? "")) {
                const events = yield* chat.turnStream(params).pipe(Effect.mapError(fromChatFailure))
                return yield* sseResponse(events, scope.requestId, (cause) =>
                  options.onStreamDefect(cause, scope)
                )
              }
              const reply = yield* chat.turn(params).pipe(Effect.mapError(fromChatFailure))
              return json(encodeReply(reply))
            }
            case "list_conversations": {
              const params = encodeList(yield* decodeListQuery(event.req))
              const page = yield* chat.listConversations(params).pipe(Effect.mapError(fromChatFailure))
              return json(encodeConversations(page))
            }
            case "list_messages": {
              const id = yield* decodeConversationId(event.context.params?.id)
              const params = encodeList(yield* decodeListQuery(event.req))
              const page = yield* chat.listMessages(id, params).pipe(Effect.mapError(fromChatFailure))
              return json(encodeMessages(page))
            }
            case "read_conversation": {
              const id = yield* decodeConversationId(event.context.params?.id)
              const conversation = yield* chat.readConversation(id).pipe(Effect.mapError(fromChatFailure))
              return json(encodeConversation(conversation))
            }
            case "rename_conversation": {
              const id = yield* decodeConversationId(event.context.params?.id)
              const body = yield* readJsonObject(event.req, options.limit, route.bodyRequired ?? false)
              yield* decodeOrFail(RenameConversationParams, body, "request")
              const renamed = yield* chat
                .renameConversation(id, body as unknown as RenameConversationParams)
                .pipe(Effect.mapError(fromChatFailure))
              return json(encodeConversation(renamed))
            }
            case "delete_conversation": {
              const id = yield* decodeConversationId(event.context.params?.id)
              yield* chat.deleteConversation(id).pipe(Effect.mapError(fromChatFailure))
              return noContent()
            }
          }
        }).pipe(Effect.provideService(CurrentUser, { id: user }))
    return chatRoutes.flatMap((route) =>
      [PREFIX_V1, PREFIX_USER].map(
        (prefix): Route => ({
          access: "user",
          method: route.method,
          path: `${prefix}${route.path}`,
          handle: handle(route)
        })
      )
    )
  })
