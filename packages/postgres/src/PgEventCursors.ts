/**
 * `EventCursors` over `effect/sql`. A consumer's position per user lives in
 * `event_consumers`; the users to visit are those whose head (`event_positions`) is past it.
 * A round is one transaction for all the users it visits: one statement locks their cursors
 * with `FOR UPDATE SKIP LOCKED` (a user another process is handling is skipped, so each user's
 * events are handled in order by one process) and reads the events after each, the handler
 * gets them all at once, and one statement moves every cursor past what was handled. The round
 * trips of a round so do not grow with the users it visits, which matters under load, when a
 * round finds many; its events are bounded in all, so that a backlog is worked through in
 * rounds of that size rather than decoded and sent at once. It reads every user's events, so
 * it runs unfenced.
 */
import {
  type DrainOptions,
  EventCursors,
  type RepositoryError,
  type TaskEvent,
  type UserEvents,
  type UserId
} from "@taskport/core"
import { Effect, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import * as PgEventLog from "./PgEventLog.ts"
import { repositoryErrors, toRepositoryError } from "./SqlSupport.ts"

/** The events of a round, user by user, in the order of the rows (user, then position). */
const byOwner = (owners: ReadonlyArray<string>, events: ReadonlyArray<TaskEvent>): Array<UserEvents> => {
  const round: Array<{ owner: UserId; events: Array<TaskEvent> }> = []
  events.forEach((event, index) => {
    const owner = owners[index] as UserId
    const current = round.at(-1)
    if (current !== undefined && current.owner === owner) current.events.push(event)
    else round.push({ owner, events: [event] })
  })
  return round
}

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = PgEventLog.eventColumns(sql)

  return EventCursors.of({
    drain: <E, R>(
      consumer: string,
      options: DrainOptions,
      handle: (round: ReadonlyArray<UserEvents>) => Effect.Effect<ReadonlyArray<number>, E, R>
    ): Effect.Effect<number, E | RepositoryError, R> =>
      Effect.gen(function* () {
        const behind = yield* sql<{ user_id: string; known: boolean }>`SELECT p.user_id,
            c.user_id IS NOT NULL AS known
          FROM event_positions p
          LEFT JOIN event_consumers c ON c.consumer = ${consumer} AND c.user_id = p.user_id
          WHERE p.position > COALESCE(c.position, 0)
          ORDER BY p.user_id LIMIT ${options.users}`.pipe(repositoryErrors)
        if (behind.length === 0) return 0
        // The row is made once per consumer and user, so that there is a row to lock. Users
        // travel as one JSON array, so the statements' text does not vary with their number.
        const unknown = behind.filter((row) => !row.known).map((row) => row.user_id)
        if (unknown.length > 0)
          yield* sql`INSERT INTO event_consumers (consumer, user_id, position)
            SELECT ${consumer}, unknown.value, 0 FROM jsonb_array_elements_text(${JSON.stringify(unknown)}::jsonb) AS unknown
            ON CONFLICT DO NOTHING`.pipe(repositoryErrors)
        const users = JSON.stringify(behind.map((row) => row.user_id))

        const round = Effect.gen(function* () {
          const rows = yield* sql<{ owner: string }>`WITH locked AS MATERIALIZED (
              SELECT user_id, position FROM event_consumers
              WHERE consumer = ${consumer}
                AND user_id IN (SELECT value FROM jsonb_array_elements_text(${users}::jsonb))
              FOR UPDATE SKIP LOCKED
            )
            SELECT next.* FROM locked CROSS JOIN LATERAL (
              SELECT user_id AS owner, ${columns} FROM events
              WHERE user_id = locked.user_id AND position > locked.position
              ORDER BY position LIMIT ${options.events}
            ) AS next
            ORDER BY next.owner, next.position
            LIMIT ${options.events}`.pipe(repositoryErrors)
          const events = yield* PgEventLog.eventsOf(rows)
          const handing = byOwner(
            rows.map((row) => row.owner),
            events
          )
          if (handing.length === 0) return 0
          const counts = yield* handle(handing)
          const moved: Array<{ user_id: string; position: number }> = []
          let handled = 0
          handing.forEach(({ owner, events: slice }, index) => {
            const done = Math.min(slice.length, Math.max(0, counts[index] ?? 0))
            const last = slice[done - 1]
            if (last !== undefined) moved.push({ user_id: owner, position: last.position })
            handled += done
          })
          if (moved.length > 0)
            yield* sql`UPDATE event_consumers AS cursor SET position = moved.position
              FROM jsonb_to_recordset(${JSON.stringify(moved)}::jsonb) AS moved (user_id text, position bigint)
              WHERE cursor.consumer = ${consumer} AND cursor.user_id = moved.user_id`.pipe(repositoryErrors)
          return handled
        })

        return yield* round.pipe(
          sql.withTransaction,
          Effect.mapError((error) => (SqlError.isSqlError(error) ? toRepositoryError(error) : error))
        )
      }).pipe(Effect.withSpan("PgEventCursors.drain"))
  })
})

/** `EventCursors` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<EventCursors, never, SqlClient.SqlClient> = Layer.effect(EventCursors, make)
