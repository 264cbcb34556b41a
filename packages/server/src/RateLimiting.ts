/**
 * The rate-limiter adapters over `rate-limiter-flexible`: fixed one-minute windows per key,
 * counted in this process, or in Redis (`REDIS_URL`) so that every instance and worker
 * process shares the counters.
 *
 * When Redis goes away the limiter falls back to this process's own counters (the
 * library's insurance limiter) rather than refusing everything or limiting nothing: the API
 * stays up, and a user is still limited, per process, until Redis returns. A limiter is
 * abuse protection, not a data fence (authentication and row-level security are), so
 * keeping the service up is worth a looser limit for a while. The outage and the recovery
 * are logged once each; ioredis reconnects by itself, so no restart is needed.
 */
import type { RateLimitDecision, RateLimiterShape, RateLimitKind, RateLimitPolicy } from "@taskport/core"
import type { RequestLog } from "@taskport/http"
import { Effect, Redacted } from "effect"
import { Redis } from "ioredis"
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes
} from "rate-limiter-flexible"

export interface RateLimitSettings {
  readonly requestsPerMinute: number
  readonly chatTurnsPerMinute: number
  readonly authFailuresPerMinute: number
  readonly redisUrl?: Redacted.Redacted | undefined
  /** Prefix of the Redis keys, so that deployments (and test runs) sharing a Redis stay apart. */
  readonly keyPrefix?: string | undefined
}

const WINDOW_SECONDS = 60

const decisionOf = (
  policy: RateLimitPolicy,
  allowed: boolean,
  result: RateLimiterRes
): RateLimitDecision => ({
  allowed,
  policy,
  remaining: Math.max(0, result.remainingPoints),
  resetSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000))
})

/** Builds the limiter; with a Redis URL the client lives as long as the scope. */
export const make = (settings: RateLimitSettings, log: RequestLog.Log = () => {}) =>
  Effect.gen(function* () {
    const prefix = settings.keyPrefix ?? "taskport"
    let closing = false
    const redis =
      settings.redisUrl === undefined
        ? undefined
        : yield* Effect.acquireRelease(
            Effect.sync(() => {
              const client = new Redis(Redacted.value(settings.redisUrl!) as string, {
                // Fail fast while disconnected, so the per-process counters take over at once
                // instead of requests queueing behind a reconnect.
                enableOfflineQueue: false,
                maxRetriesPerRequest: 1,
                connectTimeout: 2_000
              })
              let down = false
              // A dropped connection does not always come with an error event (a peer that
              // closes it cleanly), so a close counts as an outage too, unless we closed it.
              const markDown = (cause: string) => {
                if (down || closing) return
                down = true
                log({
                  level: "warn",
                  msg: "Redis is unreachable; rate limits fall back to per-process counters until it returns",
                  cause
                })
              }
              client.on("error", (error: Error) => markDown(error.message))
              client.on("close", () => markDown("connection closed"))
              client.on("ready", () => {
                if (!down) return
                down = false
                log({
                  level: "info",
                  msg: "Redis is reachable again; rate limits are shared across instances"
                })
              })
              return client
            }),
            (client) =>
              Effect.sync(() => {
                closing = true
                client.disconnect()
              })
          )
    // Start counting in Redis from the first request when it answers; otherwise start on the
    // per-process counters and move over once it does.
    if (redis !== undefined && redis.status !== "ready") {
      yield* Effect.callback<void>((resume) => {
        const done = () => resume(Effect.void)
        redis.once("ready", done)
        redis.once("error", done)
        return Effect.sync(() => {
          redis.off("ready", done)
          redis.off("error", done)
        })
      }).pipe(Effect.timeoutOrElse({ duration: "3 seconds", orElse: () => Effect.void }))
    }

    const limits: Record<RateLimitKind, number> = {
      request: settings.requestsPerMinute,
      chat: settings.chatTurnsPerMinute,
      auth_failure: settings.authFailuresPerMinute
    }
    const limiters = new Map<
      RateLimitKind,
      { readonly policy: RateLimitPolicy; readonly limiter: RateLimiterAbstract }
    >()
    for (const kind of Object.keys(limits) as Array<RateLimitKind>) {
      const limit = limits[kind]
      // 0 turns a limit off.
      if (limit <= 0) continue
      const options = { points: limit, duration: WINDOW_SECONDS, keyPrefix: `${prefix}:rl:${kind}` }
      const memory = new RateLimiterMemory(options)
      const limiter =
        redis === undefined
          ? memory
          : new RateLimiterRedis({
              ...options,
              storeClient: redis,
              rejectIfRedisNotReady: true,
              insuranceLimiter: memory
            })
      limiters.set(kind, { policy: { kind, limit, windowSeconds: WINDOW_SECONDS }, limiter })
    }

    const consume: RateLimiterShape["consume"] = (kind, key) => {
      const entry = limiters.get(kind)
      if (entry === undefined) return Effect.undefined
      return Effect.promise(() =>
        entry.limiter.consume(key).then(
          (result) => decisionOf(entry.policy, true, result),
          // A refusal is a RateLimiterRes; anything else is a store failure the insurance
          // limiter could not absorb, which lets the request through.
          (refusal: unknown) =>
            refusal instanceof RateLimiterRes ? decisionOf(entry.policy, false, refusal) : undefined
        )
      )
    }

    return { policy: (kind) => limiters.get(kind)?.policy, consume } satisfies RateLimiterShape
  })
