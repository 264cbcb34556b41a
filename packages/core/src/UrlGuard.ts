/**
 * Port for the server-side request forgery guard: whether a URL a user gives may be called by
 * the server. The adapter resolves the host and refuses internal addresses; the webhook use
 * cases ask it at registration, and the sender asks it again before every attempt, since
 * what a name resolves to can change.
 */
import { Context, type Effect } from "effect"

/** Why a URL may not be called, in words fit for the user who gave it. */
export interface UrlRefusal {
  readonly reason: string
}

export class UrlGuard extends Context.Service<
  UrlGuard,
  {
    /** Succeeds when every address the URL's host resolves to may be called. */
    readonly check: (url: string) => Effect.Effect<void, UrlRefusal>
  }
>()("@taskport/core/UrlGuard") {}
