/**
 * Quotas: how much one user may keep (tasks, conversations) and how long a conversation may
 * grow. The use cases ask before writing; a write past a quota fails with `QuotaExceeded`
 * naming it. The counts come from the `QuotaCounts` port (the database); without `Quotas`
 * in the context nothing is limited, so the library path works unchanged.
 *
 * The count and the write are separate statements, so concurrent writes can overshoot a
 * quota by their number: a quota bounds growth, it is not an exact ledger.
 */
import { Context, Effect, Layer } from "effect"
import type { ConversationId } from "./Conversation.ts"
import type { UserId } from "./CurrentUser.ts"
import { QuotaExceeded, type RepositoryError } from "./Errors.ts"

export interface QuotaLimits {
  /** 0 turns a quota off. */
  readonly tasksPerUser: number
  readonly conversationsPerUser: number
  readonly messagesPerConversation: number
}

export const DEFAULT_QUOTAS: QuotaLimits = {
  tasksPerUser: 10_000,
  conversationsPerUser: 1_000,
  messagesPerConversation: 2_000
}

export class QuotaCounts extends Context.Service<
  QuotaCounts,
  {
    readonly tasks: (owner: UserId) => Effect.Effect<number, RepositoryError>
    readonly conversations: (owner: UserId) => Effect.Effect<number, RepositoryError>
    readonly messages: (owner: UserId, id: ConversationId) => Effect.Effect<number, RepositoryError>
    /** Model tokens the user's turns used since the instant (epoch milliseconds). */
    readonly tokensSince: (owner: UserId, sinceMillis: number) => Effect.Effect<number, RepositoryError>
  }
>()("@taskport/core/QuotaCounts") {}

type Check = Effect.Effect<void, QuotaExceeded | RepositoryError>

export class Quotas extends Context.Service<
  Quotas,
  {
    readonly limits: QuotaLimits
    /** Room for one more task. */
    readonly task: (owner: UserId) => Check
    /** Room for one more conversation. */
    readonly conversation: (owner: UserId) => Check
    /** Room for `adding` more messages in the conversation. */
    readonly messages: (owner: UserId, id: ConversationId, adding: number) => Check
  }
>()("@taskport/core/Quotas") {
  static readonly layer = (limits: QuotaLimits = DEFAULT_QUOTAS): Layer.Layer<Quotas, never, QuotaCounts> =>
    Layer.effect(
      this,
      Effect.gen(function* () {
        const counts = yield* QuotaCounts
        const within = (
          quota: QuotaExceeded["quota"],
          limit: number,
          count: Effect.Effect<number, RepositoryError>,
          adding = 1
        ): Check =>
          limit <= 0
            ? Effect.void
            : Effect.flatMap(count, (n) =>
                n + adding > limit ? Effect.fail(new QuotaExceeded({ quota, limit })) : Effect.void
              )
        return {
          limits,
          task: (owner) => within("tasks_per_user", limits.tasksPerUser, counts.tasks(owner)),
          conversation: (owner) =>
            within("conversations_per_user", limits.conversationsPerUser, counts.conversations(owner)),
          messages: (owner, id, adding) =>
            within(
              "messages_per_conversation",
              limits.messagesPerConversation,
              counts.messages(owner, id),
              adding
            )
        }
      })
    )
}
