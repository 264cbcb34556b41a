/**
 * Row-level security as a second fence between users. Every repository statement already
 * filters by `user_id`; on top of that, each repository call runs as the `taskport_app` role,
 * which the row-level security policies of the migrations bind, with the call's owner as
 * `taskport.user_id`. A statement that forgot its filter still sees, changes and inserts only
 * that owner's rows.
 *
 * It is applied in one place, around whole repositories (`fenced`), by the owner every
 * repository method takes as its first argument, so no method has to remember it. A use case
 * that makes several calls opens the fence once for all of them (`Transactor.forOwner`): the
 * calls inside it find their owner already fenced and run behind it.
 *
 * On Postgres a fence is a connection from a pool of its own (`FencedSessions`), opened as the
 * role with nobody's rows: the role and the owner are set for the session, in one statement,
 * ahead of the fenced statements on that connection, and stay until the next fence sets them
 * again. The fence travels in the same write as the call's first statement, so a fenced call
 * costs no round trip of its own. Nothing but this fence takes connections from that pool, and
 * the application's own pool never carries the settings; a transaction inside the fence
 * (`sql.withTransaction`) is a transaction on the fenced connection. Without that pool
 * (PGlite's single connection), and inside a transaction already open, the fence is the
 * transaction: `BEGIN`, the settings for the transaction only, the statements, `COMMIT` (or a
 * savepoint in a transaction already open).
 */
import type { PgConnection } from "@effect/sql-pg"
import { RepositoryError } from "@taskport/core"
import type { Scope } from "effect"
import { Context, Effect, Option, Stream } from "effect"
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
 * Connections kept for fences: a pool of their own, which only the fence takes from. Each
 * connection starts as the role with no owner set, and a call holds its connection alone
 * while the statements it sends are pipelined. Without it (PGlite's single connection), a
 * fence is a transaction.
 */
export class FencedSessions extends Context.Service<
  FencedSessions,
  { readonly take: Effect.Effect<PgConnection.PgConnection, SqlError.SqlError, Scope.Scope> }
>()("@taskport/postgres/OwnerFence/FencedSessions") {}

/** What a fenced connection is opened with, before any fence: the role, and nobody's rows. */
export const sessionStartup: Readonly<Record<string, string>> = { role: APP_ROLE, [OWNER_SETTING]: "" }

// The role is set again although the connection starts as it: one statement either way, and
// nothing a call may have run before can leave the next one without it.
const SESSION_FENCE = `SELECT set_config('role', '${APP_ROLE}', false), set_config('${OWNER_SETTING}', $1, false)`

/**
 * The statements of one fenced call, on a connection it holds alone. The fence is sent in the
 * same write as the call's first statement rather than a round trip ahead of it: the
 * connection answers in order, so the statement runs after the fence has set the owner. Were
 * the fence itself to fail, the statement queued behind it would already be on the wire; its
 * answer is dropped, the call fails, and it ran as the role (never as the connecting one) with
 * the owner an earlier fence left there, so its own `user_id` filter still kept it to the
 * call's owner. A call that sends nothing sends no fence.
 */
class FencedConnection implements SqlConnection.Connection {
  private fenced = false
  private readonly session: PgConnection.PgConnection
  private readonly owner: string
  constructor(session: PgConnection.PgConnection, owner: string) {
    this.session = session
    this.owner = owner
  }

  private behindFence<A>(
    statement: Effect.Effect<A, SqlError.SqlError>
  ): Effect.Effect<A, SqlError.SqlError> {
    return Effect.suspend(() => {
      if (this.fenced) return statement
      this.fenced = true
      // Both fibers start at once, in this order, so both statements join the same write.
      return Effect.all([this.session.query(SESSION_FENCE, [this.owner]), statement], {
        concurrency: 2
      }).pipe(
        Effect.map(([, result]) => result),
        // A failed pair sends the fence again with whatever the call runs next.
        Effect.tapError(() =>
          Effect.sync(() => {
            this.fenced = false
          })
        )
      )
    })
  }

  private rows(sql: string, params: ReadonlyArray<unknown>, prepare: boolean, transform: RowTransform) {
    const rows = Effect.map(this.session.query(sql, params, prepare), (result) => result.rows)
    return this.behindFence(transform === undefined ? rows : Effect.map(rows, transform))
  }

  readonly execute = (sql: string, params: ReadonlyArray<unknown>, transform: RowTransform) =>
    this.rows(sql, params, true, transform)
  readonly executeUnprepared = (sql: string, params: ReadonlyArray<unknown>, transform: RowTransform) =>
    this.rows(sql, params, false, transform)
  readonly executeRaw = (sql: string, params: ReadonlyArray<unknown>) =>
    this.behindFence(this.session.query(sql, params))
  readonly executeValues = (sql: string, params: ReadonlyArray<unknown>) =>
    this.behindFence(this.session.queryValues(sql, params))
  readonly executeValuesUnprepared = (sql: string, params: ReadonlyArray<unknown>) =>
    this.behindFence(this.session.queryValues(sql, params, false))
  // A driver stream pins its connection, which this call already holds: a fenced stream is
  // read whole instead (the repositories do not stream).
  readonly executeStream = (sql: string, params: ReadonlyArray<unknown>, transform: RowTransform) =>
    Stream.unwrap(Effect.map(this.execute(sql, params, transform), (rows) => Stream.fromIterable(rows)))
}

type RowTransform = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

/**
 * Runs `effect` on a connection of `sessions` whose session shows only `owner`'s rows.
 * The client runs the statements of `effect` on that connection, as it does a transaction's;
 * the level below a transaction's first makes `withTransaction` inside it begin a real
 * transaction there rather than a savepoint.
 */
const inSession =
  (sql: SqlClient.SqlClient, sessions: FencedSessions["Service"], owner: string) =>
  <A, E, R>(
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | SqlError.SqlError, Exclude<R, Scope.Scope>> =>
    Effect.scoped(
      Effect.flatMap(sessions.take, (session) =>
        effect.pipe(
          Effect.provideService(sql.transactionService, [new FencedConnection(session, owner), -1] as const),
          Effect.provideService(FencedOwner, owner)
        )
      )
    )

/**
 * The fence for one owner: inside that owner's fence already, `effect` runs as it is; inside
 * a transaction, or without a pool of fenced sessions, it is fenced by the transaction
 * (`asOwner`); otherwise it runs on a fenced session.
 */
export const fence = (sql: SqlClient.SqlClient, sessions: Option.Option<FencedSessions["Service"]>) => {
  const inTransaction = Effect.map(Effect.serviceOption(sql.transactionService), Option.isSome)
  return (owner: string) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError.SqlError | RepositoryError, R> =>
      Effect.flatMap(FencedOwner, (current) => {
        if (current === owner) return effect
        if (Option.isNone(sessions)) return asOwner(sql, owner)(effect)
        const session = sessions.value
        return Effect.flatMap(inTransaction, (transaction) =>
          transaction
            ? asOwner(sql, owner)(effect)
            : (inSession(sql, session, owner)(effect) as Effect.Effect<A, E | SqlError.SqlError, R>)
        )
      })
}

/** Wraps every method of a repository whose first argument is the owner in the owner's fence. */
export const fenced = <S extends object>(
  sql: SqlClient.SqlClient,
  implementation: S,
  sessions: Option.Option<FencedSessions["Service"]> = Option.none()
): S => {
  const fenceOf = fence(sql, sessions)
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
              fenceOf(owner)(result) as Effect.Effect<unknown, SqlError.SqlError, unknown>
            )
          }
  }
  return wrapped as S
}
