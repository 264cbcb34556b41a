/**
 * Port for verifying who is calling. Adapters hand it the raw `Authorization` header; it
 * answers with the verified user id (the token's `sub`) or `Unauthenticated` with a reason.
 * Identity enters the system only through this port.
 */
import { Context, type Effect } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { Unauthenticated } from "./Errors.ts"

export class Authenticator extends Context.Service<
  Authenticator,
  {
    /** Verifies an `Authorization: Bearer <jwt>` header value (undefined when absent). */
    readonly authenticate: (
      authorization: string | null | undefined
    ) => Effect.Effect<UserId, Unauthenticated>
  }
>()("@taskport/core/Authenticator") {}
