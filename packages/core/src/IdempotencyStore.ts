/**
 * Port for idempotency records: the first answer to a keyed write, kept per user so that a
 * retry with the same key replays it instead of writing again. An adapter runs the write and
 * stores its record in one transaction, so neither can exist without the other, and refuses a
 * key while the first request that used it is still running.
 */
import { Context, Duration, type Effect } from "effect"
import type { UserId } from "./CurrentUser.ts"
import type { IdempotencyKeyInFlight, IdempotencyKeyReused, RepositoryError } from "./Errors.ts"

export interface IdempotentRequest {
  readonly owner: UserId
  readonly key: string
  /** What the request asked for, in a canonical text: the same key for another request is refused. */
  readonly fingerprint: string
  /** The field or header that carried the key, named when the key is refused. */
  readonly field: string
}

/** How a result is kept: JSON-safe values both ways. */
export interface RecordCodec<A> {
  readonly encode: (value: A) => unknown
  readonly decode: (stored: unknown) => A
}

export type IdempotencyFailure = IdempotencyKeyReused | IdempotencyKeyInFlight | RepositoryError

export class IdempotencyStore extends Context.Service<
  IdempotencyStore,
  {
    /**
     * Runs `work` once per (owner, key): a repeated request replays the stored result. A
     * failure of `work` stores nothing (the transaction is rolled back), so it may be retried.
     */
    readonly run: <A, E, R>(
      request: IdempotentRequest,
      work: Effect.Effect<A, E, R>,
      codec: RecordCodec<A>
    ) => Effect.Effect<A, E | IdempotencyFailure, R>
    /** Removes the records older than the retention; safe to run from many processes at once. */
    readonly purgeExpired: Effect.Effect<number, RepositoryError>
  }
>()("@taskport/core/IdempotencyStore") {}

/** How long idempotency records are honoured (24 hours unless configured). */
export const IdempotencyRetention = Context.Reference<Duration.Duration>(
  "@taskport/core/IdempotencyRetention",
  { defaultValue: () => Duration.hours(24) }
)

/** How long a deleted task stays in the trash before the sweep removes it (30 days unless configured). */
export const TrashRetention = Context.Reference<Duration.Duration>("@taskport/core/TrashRetention", {
  defaultValue: () => Duration.days(30)
})
