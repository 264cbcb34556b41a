/**
 * The reminder worker of `taskport serve`: a scoped fiber that fires the reminders that have
 * come (`fireDueReminders`), then waits for the poll interval (`REMINDER_POLL_MS`), or goes
 * again at once after a full round. Each reminder is claimed by one conditional write, so
 * every process (and worker) may run it and a reminder still fires once.
 */
import { fireDueReminders, REMINDER_BATCH, type TaskRepository } from "@taskport/core"
import { Duration, Effect, type Scope } from "effect"
import type { ServerConfig } from "./ServerConfig.ts"

export const reminding = (config: ServerConfig): Effect.Effect<void, never, TaskRepository | Scope.Scope> => {
  const poll = Duration.millis(config.reminderPollMs)
  return fireDueReminders(REMINDER_BATCH).pipe(
    Effect.map(({ fired }) => fired >= REMINDER_BATCH),
    Effect.catch((error) =>
      Effect.as(
        Effect.logWarning("reminder round failed").pipe(Effect.annotateLogs({ error: error._tag })),
        false
      )
    ),
    Effect.flatMap((busy) => (busy ? Effect.void : Effect.sleep(poll))),
    Effect.forever,
    Effect.forkScoped,
    Effect.asVoid
  )
}
