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
     * share one fence, which an adapter with row-level security sets up once rather than once
     * per call. It is not necessarily a transaction: writes that must stand or fall together
     * run in `run`, inside it.
     */
    readonly forOwner: (
      owner: UserId
    ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RepositoryError, R>
  }
>()("@taskport/core/Transactor") {}
