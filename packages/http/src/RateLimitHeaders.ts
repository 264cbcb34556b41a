/**
 * The rate-limit headers of an HTTP answer, in the structured form of the IETF draft
 * (`RateLimit-Policy: "request";q=100;w=60` and `RateLimit: "request";r=0;t=12`), plus
 * `Retry-After` on a refusal, so REST and MCP tell clients the same thing.
 */
import type { RateLimitDecision } from "@taskport/core"

export const rateLimitHeaders = (decision: RateLimitDecision): Record<string, string> => {
  const { policy } = decision
  const headers: Record<string, string> = {
    "ratelimit-policy": `"${policy.kind}";q=${policy.limit};w=${policy.windowSeconds}`,
    ratelimit: `"${policy.kind}";r=${Math.max(0, decision.remaining)};t=${decision.resetSeconds}`
  }
  if (!decision.allowed) headers["retry-after"] = String(decision.resetSeconds)
  return headers
}
