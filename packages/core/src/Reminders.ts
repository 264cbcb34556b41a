/**
 * Firing reminders: at the clock's time, each task whose reminder has come gets one
 * `task.reminder` event in the outbox, from which the stream, webhooks and NATS take it. The
 * firing of each task is one conditional write in the database, so any number of processes
 * may fire at once and a reminder still fires once; one whose task was completed or trashed
 * before it came never fires. Time comes from `Clock`, so a test clock drives it.
 */
import { Clock, Effect, Option } from "effect"
import { actor, CurrentActor } from "./Actor.ts"
import { TaskRepository } from "./TaskRepository.ts"

/** Reminders carry this actor: the library surface, as no client asked for them. */
export const REMINDER_ACTOR = actor("library", { client: "taskport reminders" })

/** Reminders fired per round at most; a full round is followed by another at once. */
export const REMINDER_BATCH = 100

/** One round: fires the reminders that have come by now; returns how many it fired. */
export const fireDueReminders = (limit: number = REMINDER_BATCH) =>
  Effect.gen(function* () {
    const tasks = yield* TaskRepository
    const now = yield* Clock.currentTimeMillis
    const due = yield* tasks.dueReminders(now, limit)
    let fired = 0
    for (const reminder of due) {
      const task = yield* tasks.fireReminder(reminder.owner, reminder.id, reminder.atMillis, now)
      if (Option.isSome(task)) fired += 1
    }
    return { found: due.length, fired }
  }).pipe(Effect.provideService(CurrentActor, REMINDER_ACTOR), Effect.withSpan("Reminders.fireDueReminders"))
