/**
 * The chat use cases for the `CurrentUser`: a stateless turn (load the recent messages, store
 * the user message, run the agent with the todo tools bound to the user, store the reply),
 * its streamed variant, and listing and deleting conversations. Nothing is kept in memory
 * between turns, so any process over the same database can serve the next one. A destructive
 * call the agent makes (a delete, or a batch that deletes or touches more than a few tasks) is
 * not carried out at once: it is stored as a pending action, and a later turn confirms or
 * declines it, explicitly or in words.
 */
import { Clock, Context, Effect, Layer, Option, Schema, Stream } from "effect"
import { actor, CurrentActor } from "./Actor.ts"
import {
  type AgentInput,
  type AgentReply,
  AgentRunner,
  type ToolOutcome,
  type ToolSource
} from "./AgentRunner.ts"
import {
  type ChatEvent,
  type ChatOptions,
  type ChatReply,
  type ChatServiceShape,
  ChatTurnParams,
  DEFAULT_HISTORY_LIMIT,
  ListConversationsParams,
  MAX_TITLE_LENGTH,
  RenameConversationParams
} from "./ChatContract.ts"
import { ConversationId, type Message, NO_TOKENS } from "./Conversation.ts"
import { ConversationRepository } from "./ConversationRepository.ts"
import { CurrentUser, type UserId } from "./CurrentUser.ts"
import { ConversationPosition, MessagePosition } from "./CursorKeys.ts"
import {
  ConversationNotFound,
  InvalidCursor,
  InvalidParameters,
  type RepositoryError,
  TokenBudgetExceeded
} from "./Errors.ts"
import type { LocalNow } from "./LocalNow.ts"
import {
  PENDING_ACTION_TTL,
  type PendingAction,
  PendingActionRepository,
  type Unsettled
} from "./PendingActions.ts"
import { boundOf, QuotaCounts } from "./Quotas.ts"
import { invalidParameters } from "./SchemaIssues.ts"
import { SettingsService } from "./Settings.ts"
import { DEFAULT_PAGE_LIMIT } from "./Task.ts"
import { todoToolSource } from "./TodoToolSource.ts"
import { describeToolFailure, runTodoTool, type TodoToolHandlers } from "./TodoTools.ts"
import { Transactor } from "./Transactor.ts"

/** More items than this in one batch count as destructive, whatever they do. */
export const BATCH_CONFIRMATION_THRESHOLD = 3

const YES = /^(?:yes|y|yeah|yep|sure|ok|okay|confirm|do it|go ahead)\b/i
const NO = /^(?:no|n|nope|cancel|decline|don'?t|keep it|stop)\b/i

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The ids a destructive call names, or none when it is not one to ask about. */
const destructiveTargets = (
  name: string,
  args: unknown
): ReadonlyArray<{ readonly op: string; readonly id?: number; readonly title?: string }> | undefined => {
  if (!isRecord(args)) return undefined
  if (name === "todo_delete" && typeof args.id === "number") {
    return [{ op: args.permanent === true ? "purge" : "delete", id: args.id }]
  }
  if (name === "todo_batch" && Array.isArray(args.items)) {
    const items = args.items.filter(isRecord)
    const deletes = items.some((item) => item.op === "delete")
    if (!deletes && items.length <= BATCH_CONFIRMATION_THRESHOLD) return undefined
    return items.map((item) => ({
      op: typeof item.op === "string" ? item.op : "change",
      ...(typeof item.id === "number" ? { id: item.id } : {}),
      ...(typeof item.title === "string" ? { title: item.title } : {})
    }))
  }
  return undefined
}

const VERBS: Record<string, string> = {
  delete: "Delete",
  purge: "Delete for good",
  update: "Change",
  complete: "Complete",
  reopen: "Reopen",
  restore: "Restore",
  create: "Create"
}

const UNSETTLED: Record<Unsettled, string> = {
  expired: "that confirmation has expired; ask again if you still want it",
  confirmed: "that action was already carried out",
  declined: "that action was declined",
  superseded: "that action was replaced by a newer request",
  unknown: "there is no such pending action in this conversation"
}

const DAY_MS = 86_400_000

/** The conversation's title: its first message on one line, at most 80 characters. */
export const titleFrom = (message: string): string => {
  const line = message.trim().replace(/\s+/g, " ")
  return line.length <= MAX_TITLE_LENGTH ? line : `${line.slice(0, MAX_TITLE_LENGTH - 1).trimEnd()}…`
}

// Cursors are opaque to clients: base64url JSON with the keyset position of the last row served.
const jsonCursor = <S extends Schema.Top>(payload: S) =>
  Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(payload)))
const ConversationCursor = jsonCursor(ConversationPosition)
const MessageCursor = jsonCursor(MessagePosition)
const encodeConversationCursor = Schema.encodeSync(ConversationCursor)
const decodeConversationCursor = Schema.decodeUnknownOption(ConversationCursor)
const encodeMessageCursor = Schema.encodeSync(MessageCursor)
const decodeMessageCursor = Schema.decodeUnknownOption(MessageCursor)

const decoder = <S extends Schema.Codec<unknown, unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema, { errors: "all" })
  return (input: unknown): Effect.Effect<S["Type"], InvalidParameters> =>
    Effect.mapError(decode(input), invalidParameters)
}

const decodeTurn = decoder(ChatTurnParams)
type DecodedTurn = typeof ChatTurnParams.Type
const decodeListParams = decoder(ListConversationsParams)
const decodeConversationId = decoder(Schema.Struct({ conversation_id: ConversationId }))
const decodeRenameStrict = Schema.decodeUnknownEffect(RenameConversationParams, {
  errors: "all",
  onExcessProperty: "error"
})
const decodeRename = (input: unknown) => Effect.mapError(decodeRenameStrict(input), invalidParameters)

const make = (options: ChatOptions) =>
  Effect.gen(function* () {
    const repo = yield* ConversationRepository
    const agent = yield* AgentRunner
    const pending = yield* PendingActionRepository
    const transactor = yield* Transactor
    const settings = yield* SettingsService
    const handlers = yield* Effect.context<TodoToolHandlers>()
    const historyLimit = Math.max(0, Math.floor(options.historyLimit ?? DEFAULT_HISTORY_LIMIT))
    const confirmDestructive = options.confirmDestructive ?? true

    /**
     * The turn's tools with destructive calls held back: such a call is stored as the
     * conversation's pending action and answered with it, for the agent to ask the user. The
     * summary names each task by its title, read through the same tools: a task the user
     * cannot read is not asked about, and the call then fails as it would have.
     */
    const gate = (source: ToolSource, owner: UserId, conversationId: ConversationId) => {
      const asked: { current: PendingAction | undefined } = { current: undefined }
      const describe = (target: { readonly op: string; readonly id?: number; readonly title?: string }) =>
        Effect.gen(function* () {
          const verb = VERBS[target.op] ?? target.op
          if (target.id === undefined) return `${verb} '${target.title ?? "a task"}'`
          const read = yield* source.call("todo_read", { id: target.id })
          const title =
            isRecord(read.result) && typeof read.result.title === "string" ? read.result.title : undefined
          return read.is_error || title === undefined ? undefined : `${verb} task ${target.id} '${title}'`
        })
      const call = (name: string, args: unknown, callId?: string): Effect.Effect<ToolOutcome> =>
        Effect.gen(function* () {
          const targets = destructiveTargets(name, args)
          if (targets === undefined) return yield* source.call(name, args, callId)
          const parts = yield* Effect.forEach(targets, describe)
          if (name === "todo_delete" && parts[0] === undefined) return yield* source.call(name, args, callId)
          const named = parts.map(
            (part, index) => part ?? `${VERBS[targets[index]!.op] ?? "Change"} task ${targets[index]!.id}`
          )
          const summary = named.length === 1 ? named[0]! : `${named.length} changes: ${named.join(", ")}`
          const action = yield* pending.create(
            owner,
            conversationId,
            { tool: name, arguments: args, summary },
            PENDING_ACTION_TTL
          )
          asked.current = action
          return {
            is_error: false,
            result: {
              status: "awaiting_confirmation",
              pending_action: { id: action.id, summary: action.summary, expires_at: action.expires_at },
              note: "Nothing was done yet. Ask the user to confirm: they answer yes or no."
            }
          } satisfies ToolOutcome
        }).pipe(
          Effect.catchTag("RepositoryError", (error) =>
            Effect.succeed<ToolOutcome>({ is_error: true, result: error.message })
          )
        )
      return { tools: { tools: source.tools, call } satisfies ToolSource, asked }
    }
    /**
     * The actor of a change the agent makes: the turn's conversation and the model's tool
     * call, through the client that sent the turn.
     */
    const chatActor = (conversationId: ConversationId, toolCallId: string | undefined) =>
      Effect.map(Effect.service(CurrentActor), (outer) =>
        actor("chat", { client: outer.client, conversationId, toolCallId })
      )
    const asChat = (source: ToolSource, conversationId: ConversationId): ToolSource => ({
      tools: source.tools,
      call: (name, args, callId) =>
        source
          .call(name, args, callId)
          .pipe(Effect.provideServiceEffect(CurrentActor, chatActor(conversationId, callId)))
    })

    // Optional: without quotas in the context, nothing is bounded.
    const conversationBound = yield* boundOf("conversations_per_user")
    const messageBound = yield* boundOf("messages_per_conversation")
    const counts = yield* Effect.serviceOption(QuotaCounts)
    const budget = Math.max(0, Math.floor(options.dailyTokenBudget ?? 0))

    /** Refuses the turn, before anything is stored or the model called, once today's tokens are spent. */
    const withinBudget = (owner: UserId) =>
      Effect.gen(function* () {
        if (budget === 0 || Option.isNone(counts)) return
        const now = yield* Clock.currentTimeMillis
        const dayStart = now - (now % DAY_MS)
        const used = yield* counts.value.tokensSince(owner, dayStart)
        if (used >= budget) {
          return yield* new TokenBudgetExceeded({
            limit: budget,
            resets_at: new Date(dayStart + DAY_MS).toISOString()
          })
        }
      })

    const ownedConversation = (owner: UserId, id: ConversationId) =>
      repo.find(owner, id).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new ConversationNotFound({ id })),
            onSome: Effect.succeed
          })
        )
      )

    /** A stored message, or `ConversationNotFound` when the conversation is not the owner's. */
    const stored =
      (id: ConversationId) =>
      <E>(appended: Effect.Effect<Option.Option<Message>, E>) =>
        Effect.flatMap(
          appended,
          Option.match({
            onNone: () => Effect.fail(new ConversationNotFound({ id })),
            onSome: Effect.succeed
          })
        )

    const append = (owner: UserId, id: ConversationId, message: Parameters<typeof repo.append>[2]) =>
      repo.append(owner, id, message).pipe(stored(id))

    /**
     * Everything before the agent runs. The history is read before the user message is
     * stored, so it never contains the message itself, nor a concurrent turn's message
     * stored after it. An unknown or foreign conversation needs no lookup of its own: its
     * history reads as empty, and storing the message finds no conversation and writes
     * nothing, which is where `ConversationNotFound` comes from.
     */
    const prepare = Effect.fn("ChatService.prepare")(function* (
      input: DecodedTurn & { readonly message: string }
    ) {
      const user = yield* CurrentUser
      // One unit of work: with row-level security, its reads and the stored message share one
      // fence. The tools are made outside it, so that they do not capture its connection:
      // each tool call is a unit of its own.
      const { conversationId, history, now } = yield* transactor.forOwner(user.id)(prepareFor(user.id, input))
      const source = asChat(yield* todoToolSource.pipe(Effect.provideContext(handlers)), conversationId)
      const gated = confirmDestructive ? gate(source, user.id, conversationId) : undefined
      const agentInput: AgentInput = { history, message: input.message, tools: gated?.tools ?? source, now }
      return { user: user.id, conversationId, agentInput, asked: () => gated?.asked.current }
    })

    const prepareFor = Effect.fnUntraced(function* (
      owner: UserId,
      input: DecodedTurn & { readonly message: string }
    ) {
      yield* withinBudget(owner)
      const message = { role: "user", content: input.message, toolCalls: [] } as const
      const existing = input.conversation_id ?? undefined
      let conversationId: ConversationId
      let history: ReadonlyArray<Message> = []
      let local: Effect.Success<typeof settings.effective>
      if (existing === undefined) {
        // A new conversation starts empty: the message needs no room kept for the reply.
        const [created, effective] = yield* Effect.all(
          [repo.createWithin(owner, titleFrom(input.message), conversationBound), settings.effective],
          { concurrency: 2 }
        )
        conversationId = created.id
        local = effective
        yield* repo.appendWithin(owner, conversationId, message, undefined).pipe(stored(conversationId))
      } else {
        conversationId = existing
        // The message must find room for itself and the reply.
        const room = messageBound === undefined ? undefined : { bound: messageBound, reserve: 2 }
        // The history, the settings and the message go to the database in one write (each
        // write costs more than the statements' work): the connection runs them in the order
        // sent, so the history is read before the message is stored. The filter keeps that
        // promise should one statement ever overtake another: ids grow with the
        // conversation's order, so neither the message nor a concurrent turn's stored after
        // it can be in the history.
        const [recent, effective, appended] = yield* Effect.all(
          [
            historyLimit === 0 ? Effect.succeed([]) : repo.recent(owner, conversationId, historyLimit),
            settings.effective,
            repo.appendWithin(owner, conversationId, message, room).pipe(stored(conversationId))
          ],
          { concurrency: 3 }
        )
        history = recent.filter((earlier) => earlier.id < appended.id)
        local = effective
      }
      const now: LocalNow = {
        epochMillis: yield* Clock.currentTimeMillis,
        timeZone: local.name,
        weekStart: local.weekStart
      }
      return { conversationId, history, now }
    })

    const finish = (
      owner: UserId,
      conversationId: ConversationId,
      reply: AgentReply,
      asked: PendingAction | undefined
    ) => {
      const usage = reply.usage ?? NO_TOKENS
      return append(owner, conversationId, {
        role: "assistant",
        content: reply.content,
        toolCalls: reply.tool_calls,
        usage
      }).pipe(
        Effect.as<ChatReply>({
          conversation_id: conversationId,
          agent_response: reply.content,
          tool_calls: reply.tool_calls,
          usage,
          ...(asked === undefined
            ? {}
            : { pending_action: { id: asked.id, summary: asked.summary, expires_at: asked.expires_at } })
        })
      )
    }

    /**
     * What a turn is: a message for the agent, or an answer to a pending action, explicit
     * (`confirm` / `decline`) or in words ("yes", "no, keep it") while one is open.
     */
    const classify = Effect.fn("ChatService.classify")(function* (params: ChatTurnParams) {
      const input = yield* decodeTurn(params)
      const given = [input.message, input.confirm, input.decline].filter((value) => value !== undefined)
      if (given.length !== 1) {
        return yield* new InvalidParameters({
          issues: [
            {
              field: "message",
              message:
                given.length === 0
                  ? "is required unless confirm or decline is given"
                  : "give only one of message, confirm and decline"
            }
          ]
        })
      }
      const conversationId = input.conversation_id ?? undefined
      const answer = input.confirm ?? input.decline
      if (answer !== undefined) {
        if (conversationId === undefined) {
          return yield* new InvalidParameters({
            issues: [{ field: "conversation_id", message: "is required with confirm or decline" }]
          })
        }
        const decision = input.confirm !== undefined ? ("confirmed" as const) : ("declined" as const)
        return {
          _tag: "Answer",
          conversationId,
          id: answer,
          decision,
          text: decision === "confirmed" ? "Yes." : "No."
        } as const
      }
      const message = input.message!
      if (
        confirmDestructive &&
        conversationId !== undefined &&
        (YES.test(message.trim()) || NO.test(message.trim()))
      ) {
        const user = yield* CurrentUser
        const open = yield* pending.open(user.id, conversationId)
        if (Option.isSome(open)) {
          const decision = YES.test(message.trim()) ? ("confirmed" as const) : ("declined" as const)
          return { _tag: "Answer", conversationId, id: open.value.id, decision, text: message } as const
        }
      }
      return { _tag: "Message", input: { ...input, message } } as const
    })

    /** Settles a pending action and, when confirmed, runs its stored call once, in one transaction. */
    const answer = Effect.fn("ChatService.answer")(function* (
      conversationId: ConversationId,
      id: string,
      decision: "confirmed" | "declined",
      text: string
    ) {
      const user = yield* CurrentUser
      yield* append(user.id, conversationId, { role: "user", content: text, toolCalls: [] })
      const settled = yield* transactor.run(
        Effect.gen(function* () {
          const outcome = yield* pending.settle(user.id, conversationId, id, decision)
          if (outcome._tag === "Unsettled" || decision === "declined") return { outcome, call: undefined }
          const { action } = outcome
          const callId = `confirm_${action.id}`
          const result = yield* runTodoTool(action.tool, action.arguments).pipe(
            Effect.provideServiceEffect(CurrentActor, chatActor(conversationId, callId)),
            Effect.map((success): ToolOutcome => ({ result: success.encoded, is_error: false })),
            Effect.catch((failure) =>
              Effect.succeed<ToolOutcome>({
                result: describeToolFailure(action.tool, failure),
                is_error: true
              })
            ),
            Effect.provideContext(handlers)
          )
          return {
            outcome,
            call: { id: callId, name: action.tool, arguments: action.arguments, ...result }
          }
        })
      )
      const { outcome, call } = settled
      const content =
        outcome._tag === "Unsettled"
          ? `Nothing was done: ${UNSETTLED[outcome.reason]}.`
          : decision === "declined"
            ? `OK, I did not do it: ${outcome.action.summary}.`
            : call?.is_error === true
              ? `That did not work: ${typeof call.result === "string" ? call.result : JSON.stringify(call.result)}`
              : `Done: ${outcome.action.summary}.`
      return yield* finish(
        user.id,
        conversationId,
        { content, tool_calls: call === undefined ? [] : [call] },
        undefined
      )
    })

    const turn: ChatServiceShape["turn"] = Effect.fn("ChatService.turn")(function* (params) {
      const kind = yield* classify(params)
      if (kind._tag === "Answer") return yield* answer(kind.conversationId, kind.id, kind.decision, kind.text)
      const { user, conversationId, agentInput, asked } = yield* prepare(kind.input)
      const reply = yield* agent.run(agentInput)
      return yield* finish(user, conversationId, reply, asked())
    })

    const turnStream: ChatServiceShape["turnStream"] = (params) =>
      Effect.gen(function* () {
        const kind = yield* classify(params)
        if (kind._tag === "Answer") {
          const reply = yield* answer(kind.conversationId, kind.id, kind.decision, kind.text)
          return Stream.make<ReadonlyArray<ChatEvent>>(
            { type: "delta", text: reply.agent_response },
            { type: "done", reply }
          )
        }
        const { user, conversationId, agentInput, asked } = yield* prepare(kind.input)
        return agent.stream(agentInput).pipe(
          Stream.mapEffect(
            (event): Effect.Effect<ChatEvent, ConversationNotFound | RepositoryError> =>
              event.type === "done"
                ? Effect.map(finish(user, conversationId, event.reply, asked()), (reply) => ({
                    type: "done",
                    reply
                  }))
                : Effect.succeed(event)
          )
        )
      })

    const listConversations: ChatServiceShape["listConversations"] = Effect.fn(
      "ChatService.listConversations"
    )(function* (params) {
      const input = yield* decodeListParams(params)
      const user = yield* CurrentUser
      const limit = input.limit ?? DEFAULT_PAGE_LIMIT
      let after: { readonly updatedAt: string; readonly id: string } | undefined
      if (input.cursor !== undefined) {
        const cursor = decodeConversationCursor(input.cursor)
        if (Option.isNone(cursor)) return yield* new InvalidCursor()
        after = { updatedAt: cursor.value.u, id: cursor.value.i }
      }
      const slice = yield* repo.list(user.id, after === undefined ? { limit } : { limit, after })
      return {
        items: slice.items,
        next_cursor: Option.match(slice.next, {
          onNone: () => null,
          onSome: (position) => encodeConversationCursor({ u: position.updatedAt, i: position.id })
        })
      }
    })

    const listMessages: ChatServiceShape["listMessages"] = Effect.fn("ChatService.listMessages")(
      function* (conversationId, params) {
        const { conversation_id: id } = yield* decodeConversationId({ conversation_id: conversationId })
        const input = yield* decodeListParams(params)
        const user = yield* CurrentUser
        yield* ownedConversation(user.id, id)
        const limit = input.limit ?? DEFAULT_PAGE_LIMIT
        let after: number | undefined
        if (input.cursor !== undefined) {
          const cursor = decodeMessageCursor(input.cursor)
          if (Option.isNone(cursor)) return yield* new InvalidCursor()
          after = cursor.value.m
        }
        const slice = yield* repo.messages(user.id, id, after === undefined ? { limit } : { limit, after })
        return {
          items: slice.items,
          next_cursor: Option.match(slice.next, {
            onNone: () => null,
            onSome: (messageId) => encodeMessageCursor({ m: messageId })
          })
        }
      }
    )

    const deleteConversation: ChatServiceShape["deleteConversation"] = Effect.fn(
      "ChatService.deleteConversation"
    )(function* (conversationId) {
      const { conversation_id: id } = yield* decodeConversationId({ conversation_id: conversationId })
      const user = yield* CurrentUser
      const deleted = yield* repo.delete(user.id, id)
      if (!deleted) return yield* new ConversationNotFound({ id })
    })

    const readConversation: ChatServiceShape["readConversation"] = Effect.fn("ChatService.readConversation")(
      function* (conversationId) {
        const { conversation_id: id } = yield* decodeConversationId({ conversation_id: conversationId })
        const user = yield* CurrentUser
        return yield* ownedConversation(user.id, id)
      }
    )

    const renameConversation: ChatServiceShape["renameConversation"] = Effect.fn(
      "ChatService.renameConversation"
    )(function* (conversationId, params) {
      const { conversation_id: id } = yield* decodeConversationId({ conversation_id: conversationId })
      const { title } = yield* decodeRename(
        typeof params.title === "string" ? { ...params, title: params.title.trim() } : params
      )
      const user = yield* CurrentUser
      const renamed = yield* repo.rename(user.id, id, title)
      if (Option.isNone(renamed)) return yield* new ConversationNotFound({ id })
      return renamed.value
    })

    return ChatService.of({
      turn,
      turnStream,
      listConversations,
      listMessages,
      deleteConversation,
      readConversation,
      renameConversation
    })
  })

export class ChatService extends Context.Service<ChatService, ChatServiceShape>()(
  "@taskport/core/ChatService"
) {
  /** The chat use cases over the conversation and pending-action stores, an agent runner and the todo tools. */
  static readonly layer = (
    options: ChatOptions = {}
  ): Layer.Layer<
    ChatService,
    never,
    | ConversationRepository
    | PendingActionRepository
    | Transactor
    | AgentRunner
    | TodoToolHandlers
    | SettingsService
  > => Layer.effect(this, make(options))
}
