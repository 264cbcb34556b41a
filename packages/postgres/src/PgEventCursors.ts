/**
 * `EventCursors` over `effect/sql`. A consumer's position per user lives in
 * `event_consumers`; the users to visit are those whose head (`event_positions`) is past it.
 * A round is one transaction for all of them that locks the consumer's rows with `FOR UPDATE
 * SKIP LOCKED` (a user another process is handling is skipped, so each user's events are
 * handled in order by one process), reads every locked user's next events in one statement,
 * runs the handler user by user and moves the positions past what it handled, in a fixed
 * number of statements however many users the round takes. It reads every user's events, so
 * it runs unfenced.
 */
import {
  type DrainOptions,
  EventCursors,
  type RepositoryError,
  type TaskEvent,
  type UserId
} from "@taskport/core"
import { Effect, Layer, Option, Result } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import * as PgEventLog from "./PgEventLog.ts"
import { repositoryErrors, toRepositoryError } from "./SqlSupport.ts"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  return EventCursors.of({
    drain: <E, R>(
      consumer: string,
      options: DrainOptions,
      handle: (owner: UserId, events: ReadonlyArray<TaskEvent>) => Effect.Effect<number, E, R>
    ): Effect.Effect<number, E | RepositoryError, R> =>
      Effect.gen(function* () {
        const behind = yield* sql<{ user_id: string; known: boolean }>`SELECT p.user_id,
            c.user_id IS NOT NULL AS known
          FROM event_positions p
          LEFT JOIN event_consumers c ON c.consumer = ${consumer} AND c.user_id = p.user_id
          WHERE p.position > COALESCE(c.position, 0)
          ORDER BY p.user_id LIMIT ${options.users}`.pipe(repositoryErrors)
        if (behind.length === 0) return 0
        // A row is made once per consumer and user, so that there is a row to lock.
        const unknown = behind.filter((row) => !row.known).map((row) => row.user_id)
        if (unknown.length > 0)
          yield* sql`INSERT INTO event_consumers (consumer, user_id, position)
            SELECT ${consumer}, owner, 0 FROM jsonb_array_elements_text(${JSON.stringify(unknown)}::jsonb) AS owner
            ON CONFLICT DO NOTHING`.pipe(repositoryErrors)

        const round = Effect.gen(function* () {
          const cursors = yield* sql<{ user_id: string; position: number }>`SELECT user_id,
              position::float8 AS position
            FROM event_consumers
            WHERE consumer = ${consumer} AND user_id IN ${sql.in(behind.map((row) => row.user_id))}
            ORDER BY user_id FOR UPDATE SKIP LOCKED`.pipe(repositoryErrors)
          if (cursors.length === 0) return { handled: 0, failure: Option.none<E>() }
          const slices = yield* PgEventLog.eventsAfter(sql, cursors, options.events)
          let handled = 0
          let failure = Option.none<E>()
          const moved: Array<{ user_id: string; position: number }> = []
          for (const cursor of cursors) {
            const events = slices.get(cursor.user_id) ?? []
            if (events.length === 0) continue
            const outcome = yield* Effect.result(handle(cursor.user_id as UserId, events))
            if (Result.isFailure(outcome)) {
              // The users handled before it keep their progress, as if each had a round of its own.
              failure = Option.some(outcome.failure)
              break
            }
            const done = Math.min(events.length, Math.max(0, outcome.success))
            const last = events[done - 1]
            if (last !== undefined) moved.push({ user_id: cursor.user_id, position: last.position })
            handled += done
          }
          if (moved.length > 0) {
            const record = sql`UPDATE event_consumers c SET position = m.position
              FROM jsonb_to_recordset(${JSON.stringify(moved)}::jsonb) AS m (user_id text, position float8)
              WHERE c.consumer = ${consumer} AND c.user_id = m.user_id`.pipe(repositoryErrors)
            // A statement of the handler that failed leaves the transaction able only to roll
            // back: what is reported then is the handler's failure, not the refused update.
            yield* Option.isSome(failure) ? Effect.catch(record, () => Effect.fail(failure.value)) : record
          }
          return { handled, failure }
        })
        // One transaction for the whole round: the cursors stay locked while their users'
        // events are handled, and move in the same commit as what the handler wrote.
        const { handled, failure } = yield* round.pipe(
          sql.withTransaction,
          Effect.mapError((error) => (SqlError.isSqlError(error) ? toRepositoryError(error) : error))
        )
        if (Option.isSome(failure)) return yield* Effect.fail(failure.value)
        return handled
      }).pipe(Effect.withSpan("PgEventCursors.drain"))
  })
})

/** `EventCursors` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<EventCursors, never, SqlClient.SqlClient> = Layer.effect(EventCursors, make)
