/**
 * Row-level security as a second fence between users. Every repository statement already
 * filters by `user_id`; on top of that, each repository call runs in a transaction that
 * switches to the `taskport_app` role, which the row-level security policies of the
 * migrations bind, with the call's owner as `taskport.user_id`. A statement that forgot its
 * filter still sees, changes and inserts only that owner's rows.
 *
 * It is applied in one place, around whole repositories (`fenced`), by the owner every
 * repository method takes as its first argument, so no method has to remember it. A use case
 * that makes several calls opens the fence once for all of them (`Transactor.forOwner`): the
 * calls inside it find their owner already fenced and run in its transaction, which saves
 * three round trips per call (BEGIN, the settings, COMMIT).
 *
 * A unit that only reads needs no transaction. On Postgres it runs on a connection of a pool
 * kept for such reads (`FencedSessions`): the role and owner are set for the session, in the
 * one statement before the reads, and stay until the next read sets them again. Nothing but
 * this fence takes connections from that pool, so no statement can run there without its
 * owner set first; the application's own pool never sees the session settings. A read then
 * costs one extra round trip instead of three.
 */
import { RepositoryError } from "@taskport/core"
import type { Scope } from "effect"
import { Context, Effect } from "effect"
import { type SqlClient, type SqlConnection, SqlError } from "effect/sql"
import { repositoryErrors } from "./SqlSupport.ts"

const isSqlError = SqlError.isSqlError

/** The role the policies bind; the connecting role is made a member by the migrations. */
export const APP_ROLE = "taskport_app"

/** The setting the policies compare `user_id` with. */
export const OWNER_SETTING = "taskport.user_id"

/** The owner whose fence the current fiber runs in, if any. */
const FencedOwner = Context.Reference<string | undefined>("@taskport/postgres/OwnerFence/FencedOwner", {
  defaultValue: () => undefined
})

/**
 * Runs `effect` in a transaction where the database shows only `owner`'s rows; inside that
 * owner's fence already, it runs as it is.
 */
export const asOwner =
  (sql: SqlClient.SqlClient, owner: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError.SqlError | RepositoryError, R> =>
    Effect.flatMap(FencedOwner, (current) =>
      current === owner
        ? effect
        : sql
            .withTransaction(
              // One round trip for both settings; `true` keeps them to this transaction.
              Effect.andThen(
                sql`SELECT set_config('role', ${APP_ROLE}, true), set_config(${OWNER_SETTING}, ${owner}, true)`,
                Effect.provideService(effect, FencedOwner, owner)
              )
            )
            .pipe(
              // A connection lost mid-call fails the rollback too, which the transaction reports
              // as a defect: it is the same retryable database failure as the statement's own.
              // The statement's own failure may arrive the same way, already mapped.
              Effect.catchDefect((defect) =>
                isSqlError(defect) || defect instanceof RepositoryError
                  ? Effect.fail(defect)
                  : Effect.die(defect)
              )
            )
    )

/**
 * Connections kept for fenced reads: a pool of their own, which only `readAsOwner` takes
 * from. Without it (PGlite's single connection), reads are fenced by a transaction.
 */
export class FencedSessions extends Context.Service<
  FencedSessions,
  { readonly reserve: Effect.Effect<SqlConnection.Connection, SqlError.SqlError, Scope.Scope> }
>()("@taskport/postgres/OwnerFence/FencedSessions") {}

const SESSION_FENCE = `SELECT set_config('role', '${APP_ROLE}', false), set_config('${OWNER_SETTING}', $1, false)`

/**
 * Runs `effect`, which only reads, on a connection of `sessions` whose session shows only
 * `owner`'s rows; inside that owner's fence already, it runs as it is. Its statements must
 * not open a transaction of their own.
 */
export const readAsOwner =
  (sql: SqlClient.SqlClient, sessions: FencedSessions["Service"], owner: string) =>
  <A, E, R>(
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | SqlError.SqlError, Exclude<R, Scope.Scope>> =>
    Effect.flatMap(FencedOwner, (current) =>
      current === owner
        ? (effect as Effect.Effect<A, E, Exclude<R, Scope.Scope>>)
        : Effect.scoped(
            Effect.flatMap(sessions.reserve, (connection) =>
              Effect.andThen(
                connection.execute(SESSION_FENCE, [owner], undefined),
                // The client runs the statements of `effect` on this connection, as it does a
                // transaction's.
                effect.pipe(
                  Effect.provideService(sql.transactionService, [connection, 0] as const),
                  Effect.provideService(FencedOwner, owner)
                )
              )
            )
          )
    )

/** Wraps every method of a repository whose first argument is the owner in `asOwner`. */
export const fenced = <S extends object>(sql: SqlClient.SqlClient, implementation: S): S => {
  const wrapped: Record<string, unknown> = {}
  for (const [method, member] of Object.entries(implementation)) {
    wrapped[method] =
      typeof member !== "function"
        ? member
        : (...args: ReadonlyArray<unknown>) => {
            const result: unknown = member.apply(implementation, args)
            const owner = args[0]
            if (!Effect.isEffect(result) || typeof owner !== "string") return result
            // Only the fence's own statements fail with SqlError here: the methods already map
            // theirs, and any other failure passes through unchanged.
            return repositoryErrors(
              asOwner(sql, owner)(result) as Effect.Effect<unknown, SqlError.SqlError, unknown>
            )
          }
  }
  return wrapped as S
}
