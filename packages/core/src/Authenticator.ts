/**
 * Port for verifying who is calling. Adapters hand it the raw `Authorization` header; it
 * answers with the verified user id (the token's `sub`), and on request its expiry, or
 * `Unauthenticated` with a reason.
 * Identity enters the system only through this port.
 */
import { Context, type Effect } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { Unauthenticated } from "./Errors.ts"

/** What a verified token says: whom it speaks for, and until when it is accepted. */
export interface VerifiedToken {
  readonly user: UserId
  /** The token's `exp`, in seconds since the epoch (protocols such as MCP pass it on). */
  readonly expiresAt: number
}

export class Authenticator extends Context.Service<
  Authenticator,
  {
    /** Verifies an `Authorization: Bearer <jwt>` header value (undefined when absent). */
    readonly authenticate: (
      authorization: string | null | undefined
    ) => Effect.Effect<UserId, Unauthenticated>
    /** The same check, answering with the token's expiry beside the user. */
    readonly verify: (
      authorization: string | null | undefined
    ) => Effect.Effect<VerifiedToken, Unauthenticated>
  }
>()("@taskport/core/Authenticator") {}
