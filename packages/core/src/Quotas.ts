/**
 * Quotas: how much one user may keep (tasks, conversations) and how long a conversation may
 * grow. A quota is not checked beside the write but carried into it: the use case hands the
 * repository a `QuotaBound`, and the repository's write refuses, with `QuotaExceeded`
 * naming the quota, when the owner is already at the limit. The database decides that in the
 * write's own statement, under a lock on the owner's counts, so concurrent writes cannot
 * overshoot. Without `Quotas` in the context nothing is bounded, so the library path works
 * unchanged.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { QuotaExceeded, RepositoryError } from "./Errors.ts"

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

/** The quota a write is bounded by: refused once the owner already has `limit`. */
export interface QuotaBound {
  readonly quota: QuotaExceeded["quota"]
  readonly limit: number
}

/** The quotas set by configuration (the webhook endpoints' is fixed). */
export type ConfiguredQuota = Exclude<QuotaExceeded["quota"], "webhooks_per_user">

/** The usage figures the chat budget is checked against, from the database. */
export class QuotaCounts extends Context.Service<
  QuotaCounts,
  {
    /** Model tokens the user's turns used since the instant (epoch milliseconds). */
    readonly tokensSince: (owner: UserId, sinceMillis: number) => Effect.Effect<number, RepositoryError>
  }
>()("@taskport/core/QuotaCounts") {}

export class Quotas extends Context.Service<
  Quotas,
  {
    readonly limits: QuotaLimits
    /** The bound a write under `quota` carries; none when that quota is off. */
    readonly bound: (quota: ConfiguredQuota) => QuotaBound | undefined
  }
>()("@taskport/core/Quotas") {
  static readonly layer = (limits: QuotaLimits = DEFAULT_QUOTAS): Layer.Layer<Quotas> => {
    const limitOf: Record<ConfiguredQuota, number> = {
      tasks_per_user: limits.tasksPerUser,
      conversations_per_user: limits.conversationsPerUser,
      messages_per_conversation: limits.messagesPerConversation
    }
    return Layer.succeed(this, {
      limits,
      bound: (quota) => {
        const limit = limitOf[quota]
        return limit > 0 ? { quota, limit } : undefined
      }
    })
  }
}

/**
 * The bound for `quota` from the context's quotas, read once where a use case is built;
 * none without quotas.
 */
export const boundOf = (quota: ConfiguredQuota): Effect.Effect<QuotaBound | undefined> =>
  Effect.map(Effect.serviceOption(Quotas), (quotas) =>
    Option.isSome(quotas) ? quotas.value.bound(quota) : undefined
  )
