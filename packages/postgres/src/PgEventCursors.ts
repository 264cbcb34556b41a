/**
 * `EventCursors` over `effect/sql`. A consumer's position per user lives in
 * `event_consumers`; the users to visit are those whose head (`event_positions`) is past it.
 * Each user's round is one transaction that locks the consumer's row with `FOR UPDATE SKIP
 * LOCKED` (a user another process is handling is skipped, so each user's events are handled
 * in order by one process), reads the events after the position, runs the handler and moves
 * the position past what it handled. It reads every user's events, so it runs unfenced.
 */
import {
  type DrainOptions,
  EventCursors,
  type RepositoryError,
  type TaskEvent,
  type UserId
} from "@taskport/core"
import { Effect, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import * as PgEventLog from "./PgEventLog.ts"
import { repositoryErrors, toRepositoryError } from "./SqlSupport.ts"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const events = yield* PgEventLog.make

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
        let handled = 0
        for (const { user_id, known } of behind) {
          const owner = user_id as UserId
          // The row is made once per consumer and user, so that there is a row to lock.
          if (!known)
            yield* sql`INSERT INTO event_consumers (consumer, user_id, position) VALUES (${consumer}, ${owner}, 0)
              ON CONFLICT DO NOTHING`.pipe(repositoryErrors)
          const round = Effect.gen(function* () {
            const locked = yield* sql<{ position: number }>`SELECT position::float8 AS position
              FROM event_consumers WHERE consumer = ${consumer} AND user_id = ${owner}
              FOR UPDATE SKIP LOCKED`.pipe(repositoryErrors)
            const cursor = locked[0]
            if (cursor === undefined) return 0
            const slice = yield* events.list(owner, {
              order: "asc",
              after: cursor.position,
              limit: options.events
            })
            if (slice.items.length === 0) return 0
            const done = Math.min(slice.items.length, Math.max(0, yield* handle(owner, slice.items)))
            const last = slice.items[done - 1]
            if (last !== undefined)
              yield* sql`UPDATE event_consumers SET position = ${last.position}
                WHERE consumer = ${consumer} AND user_id = ${owner}`.pipe(repositoryErrors)
            return done
          })
          handled += yield* round.pipe(
            sql.withTransaction,
            Effect.mapError((error) => (SqlError.isSqlError(error) ? toRepositoryError(error) : error))
          )
        }
        return handled
      }).pipe(Effect.withSpan("PgEventCursors.drain"))
  })
})

/** `EventCursors` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<EventCursors, never, SqlClient.SqlClient> = Layer.effect(EventCursors, make)
