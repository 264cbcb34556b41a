/**
 * The rate-limiter port: how many requests a key (a user, an address) may make per window,
 * counted wherever the adapter keeps its counters (in the process, or in Redis so that all
 * instances share them). Surfaces ask before doing the work and answer a refusal in their
 * own form (REST 429, MCP an error result), both saying when to retry.
 */
import { Context, type Effect } from "effect"

/** What is being limited; each has its own limit and its own counters. */
export type RateLimitKind = "request" | "chat" | "auth_failure"

export interface RateLimitPolicy {
  readonly kind: RateLimitKind
  /** Allowed per window; 0 means unlimited. */
  readonly limit: number
  readonly windowSeconds: number
}

export interface RateLimitDecision {
  readonly allowed: boolean
  readonly policy: RateLimitPolicy
  /** Left in the current window after this request. */
  readonly remaining: number
  /** Seconds until the window resets (at least 1). */
  readonly resetSeconds: number
}

export interface RateLimiterShape {
  /** The policy of a kind, or undefined when that kind is not limited. */
  readonly policy: (kind: RateLimitKind) => RateLimitPolicy | undefined
  /**
   * Counts one request for `key` and says whether it is within the limit. It never fails:
   * what happens when the counters' store is unreachable is the adapter's documented choice.
   */
  readonly consume: (kind: RateLimitKind, key: string) => Effect.Effect<RateLimitDecision | undefined>
}

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()(
  "@taskport/core/RateLimiter"
) {}

/** How a refusal reads on every surface. */
export const retryMessage = (decision: RateLimitDecision): string =>
  decision.policy.kind === "chat"
    ? `Too many chat messages: at most ${decision.policy.limit} per ${decision.policy.windowSeconds} s; retry in ${decision.resetSeconds} s`
    : decision.policy.kind === "auth_failure"
      ? `Too many failed authentication attempts; retry in ${decision.resetSeconds} s`
      : `Too many requests: at most ${decision.policy.limit} per ${decision.policy.windowSeconds} s; retry in ${decision.resetSeconds} s`
