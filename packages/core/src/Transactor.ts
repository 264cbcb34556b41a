/**
 * Port for running several repository calls as one unit: all of them or none. The use cases
 * stay free of SQL; the adapter opens a database transaction around the effect.
 */
import { Context, type Effect } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { RepositoryError } from "./Errors.ts"

export class Transactor extends Context.Service<
  Transactor,
  {
    /** Runs `effect` in one transaction: a failure rolls back every write it made. */
    readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RepositoryError, R>
    /**
     * Runs `effect` as one unit of work on behalf of `owner`: the repository calls inside it
     * share one transaction, which an adapter with row-level security fences to that owner's
     * rows once rather than once per call. A failure rolls back every write it made.
     * A `readOnly` unit makes no write, so the adapter may fence it without a transaction.
     */
    readonly forOwner: (
      owner: UserId,
      options?: { readonly readOnly?: boolean }
    ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RepositoryError, R>
  }
>()("@taskport/core/Transactor") {}
