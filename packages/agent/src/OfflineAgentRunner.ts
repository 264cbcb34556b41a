/**
 * An agent runner that needs no model: a deterministic interpreter of a few English command
 * shapes ("add a task to ...", "what's pending?", "mark task 3 as complete", "delete the
 * meeting task", "restore task 3", "what's due today?", "move task 4 to next friday", ...).
 * Dates and repetition in those commands are read by `PlainDates` in the user's zone. It is a
 * command interpreter, not an AI: anything outside those shapes gets a help reply. It acts only through the turn's `ToolSource`, so its calls are
 * recorded like a model's. Used when no model is configured, and in examples and tests.
 */
import {
  type AgentInput,
  type AgentReply,
  AgentRunner,
  addDays,
  type LocalNow,
  localDate,
  parseDue,
  type ToolOutcome,
  traced,
  wallClock
} from "@taskport/core"
import { Clock, DateTime, Effect, Layer, Option } from "effect"
import { type DueView, parse, type Status, type Target } from "./OfflineCommands.ts"
import { dateOf, findMoment, schedule } from "./PlainDates.ts"
import { type Emit, makeRecorder, runner, type ToolRecorder } from "./TurnEvents.ts"

export { type Command, type DueView, parse } from "./OfflineCommands.ts"

const DUE_HEADINGS: Record<DueView, readonly [empty: string, some: (n: number) => string]> = {
  today: ["Nothing is due today.", (n) => `${plural(n, "task")} due today:`],
  overdue: ["Nothing is overdue.", (n) => `${plural(n, "task")} overdue:`],
  upcoming: ["Nothing is coming up.", (n) => `${plural(n, "task")} coming up:`],
  none: ["Every task has a due date.", (n) => `${plural(n, "task")} without a due date:`]
}

const dueReply = (
  heading: readonly [string, (n: number) => string],
  tasks: ReadonlyArray<TaskView>,
  now: LocalNow,
  more: boolean
) =>
  tasks.length === 0
    ? heading[0]
    : `${heading[1](tasks.length)}\n${tasks.map((task) => line(task, now)).join("\n")}${more ? `\n(showing the first ${tasks.length})` : ""}`

const WEEK_STARTS = { sunday: 0, monday: 1, saturday: 6 } as const

export const HELP = [
  "I'm Taskport's offline assistant: a simple command interpreter, not an AI (no language model is configured).",
  "I understand requests like:",
  '- "add a task to buy groceries" or "I need to remember to pay bills"',
  '- "remind me to call mom tomorrow at 5pm", "pay rent on the 1st every month"',
  '- "what\'s due today?", "what\'s overdue?", "what\'s coming up this week?"',
  '- "move task 4 to next friday", "skip task 5"',
  '- "show me all my tasks", "what\'s pending?", "what have I completed?"',
  '- "mark task 3 as complete", "reopen task 3"',
  '- "delete task 2" or "delete the meeting task", and "restore task 2" to undo it',
  "- \"change task 1 to 'Call mom tonight'\"",
  '- "what did you change yesterday?", "history of task 3"'
].join("\n")

interface TaskView {
  readonly id: number
  readonly title: string
  readonly completed: boolean
  readonly due: string | null
  readonly recurrence: string | null
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const asTask = (value: unknown): TaskView | undefined =>
  isRecord(value) && typeof value.id === "number" && typeof value.title === "string"
    ? {
        id: value.id,
        title: value.title,
        completed: value.completed === true,
        due: typeof value.due === "string" ? value.due : null,
        recurrence: typeof value.recurrence === "string" ? value.recurrence : null
      }
    : undefined

const asPage = (value: unknown): { readonly tasks: ReadonlyArray<TaskView>; readonly more: boolean } => {
  const items = isRecord(value) && Array.isArray(value.items) ? value.items : []
  return {
    tasks: items.flatMap((item) => {
      const task = asTask(item)
      return task === undefined ? [] : [task]
    }),
    more: isRecord(value) && typeof value.next_cursor === "string"
  }
}

/** The summary of a call held back for the user's confirmation, if the outcome is one. */
const awaiting = (outcome: ToolOutcome): string | undefined => {
  if (outcome.is_error || !isRecord(outcome.result) || outcome.result.status !== "awaiting_confirmation") {
    return undefined
  }
  const action = outcome.result.pending_action
  return isRecord(action) && typeof action.summary === "string" ? action.summary : undefined
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const line = (task: TaskView, now?: LocalNow) =>
  `- #${task.id} ${task.title}${task.completed ? " (done)" : ""}${
    now === undefined || task.due === null ? "" : ` (due ${spokenDue(task.due, now)})`
  }`

/** The user's calendar date of a due: a date-only due is its own date; a zoned one is read in the user's zone. */
const dueDate = (due: string, now: LocalNow): string =>
  due.length === 10
    ? due
    : Option.match(parseDue(due), {
        onNone: () => due.slice(0, 10),
        onSome: (moment) => localDate(moment.epochMillis, DateTime.zoneMakeNamedUnsafe(now.timeZone))
      })

const WEEKDAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

const spokenDate = (date: string, now: LocalNow): string => {
  const today = wallClock(now).date
  if (date === today) return "today"
  if (date === addDays(today, 1)) return "tomorrow"
  if (date === addDays(today, -1)) return "yesterday"
  const weekday = WEEKDAY_NAMES[new Date(`${date}T00:00:00Z`).getUTCDay()]
  return `${weekday} ${date}`
}

/** A due in words, in the user's zone: "today", "Friday 2026-12-04 at 17:00". */
const spokenDue = (due: string, now: LocalNow): string => {
  const date = spokenDate(dueDate(due, now), now)
  if (due.length === 10) return date
  return Option.match(parseDue(due), {
    onNone: () => date,
    onSome: (moment) => {
      const wall = wallClock({ ...now, epochMillis: moment.epochMillis })
      return `${date} at ${String(wall.hour).padStart(2, "0")}:${String(wall.minute).padStart(2, "0")}`
    }
  })
}

const ORDINAL_WORDS: Record<string, string> = {
  "1": "first",
  "2": "second",
  "3": "third",
  "4": "fourth",
  "-1": "last"
}
const DAY_WORDS: Record<string, string> = {
  MO: "Monday",
  TU: "Tuesday",
  WE: "Wednesday",
  TH: "Thursday",
  FR: "Friday",
  SA: "Saturday",
  SU: "Sunday"
}

/** A stored rule in words: "every 2 weeks on Monday, Wednesday", "monthly on the last Friday". */
export const spokenRule = (rule: string): string => {
  const parts = new Map(rule.split(";").map((part) => part.split("=") as [string, string]))
  const interval = Number(parts.get("INTERVAL") ?? "1")
  const unit =
    { DAILY: "day", WEEKLY: "week", MONTHLY: "month", YEARLY: "year" }[parts.get("FREQ") ?? ""] ?? "time"
  const every = interval === 1 ? `every ${unit}` : `every ${interval} ${unit}s`
  const byDay = parts.get("BYDAY")
  const monthDay = parts.get("BYMONTHDAY")
  let on = ""
  if (byDay !== undefined && unit === "month") {
    const m = /^(-?\d)(\w\w)$/.exec(byDay)
    on = m === null ? "" : ` on the ${ORDINAL_WORDS[m[1]!] ?? m[1]} ${DAY_WORDS[m[2]!]}`
  } else if (byDay !== undefined)
    on = ` on ${byDay
      .split(",")
      .map((d) => DAY_WORDS[d] ?? d)
      .join(", ")}`
  else if (monthDay !== undefined) on = monthDay === "-1" ? " on its last day" : ` on day ${monthDay}`
  const count = parts.get("COUNT")
  const until = parts.get("UNTIL")
  const end =
    count !== undefined
      ? `, ${count} more time${count === "1" ? "" : "s"}`
      : until !== undefined
        ? `, until ${until.slice(0, 4)}-${until.slice(4, 6)}-${until.slice(6)}`
        : ""
  return `${every}${on}${end}`
}

/** A failed call in the user's words. */
const EVENT_VERBS: Record<string, string> = {
  "task.created": "created",
  "task.updated": "changed",
  "task.completed": "completed",
  "task.reopened": "reopened",
  "task.deleted": "deleted",
  "task.restored": "restored",
  "task.purged": "removed for good",
  "task.reminder": "reminded of"
}

interface EventView {
  readonly type: string
  readonly task_id: number
  readonly task: { readonly title?: unknown } | null
  readonly changes: Record<string, { readonly before: unknown; readonly after: unknown }>
}

/** The changes of a todo_history page in a sentence each, oldest first. */
const historyReply = (
  result: unknown,
  byAssistant: boolean,
  day: string | undefined,
  now: LocalNow
): string => {
  const items = (result as { items?: ReadonlyArray<EventView> }).items ?? []
  const when = day === undefined ? "" : ` ${spokenDate(day, now)}`
  const who = byAssistant ? "I" : "you"
  if (items.length === 0) return `${byAssistant ? "I" : "You"} made no changes${when}.`
  const lines = [...items].reverse().map((event) => {
    const title =
      typeof event.task?.title === "string"
        ? ` "${event.task.title}"`
        : typeof event.changes.title?.after === "string"
          ? ` "${event.changes.title.after}"`
          : ""
    const fields = Object.entries(event.changes)
      .filter(([field]) => field !== "completed_at")
      .map(([field, change]) => `${field} ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`)
    const detail = event.type === "task.updated" && fields.length > 0 ? ` (${fields.join(", ")})` : ""
    return `- ${EVENT_VERBS[event.type] ?? event.type} task #${event.task_id}${title}${detail}`
  })
  return [`${who === "I" ? "I" : "You"} made ${plural(items.length, "change")}${when}:`, ...lines].join("\n")
}

const failure = (outcome: ToolOutcome, id?: number): string => {
  const message = typeof outcome.result === "string" ? outcome.result : JSON.stringify(outcome.result)
  if (id !== undefined && /not found/i.test(message)) {
    return `I couldn't find task #${id}. Say "show me all my tasks" to see their numbers.`
  }
  return `That did not work: ${message}`
}

const listReply = (status: Status, outcome: ToolOutcome, now?: LocalNow): string => {
  if (outcome.is_error) return failure(outcome)
  const { tasks, more } = asPage(outcome.result)
  const lines = tasks.map((task) => line(task, now)).join("\n")
  const tail = more ? `\n(showing the first ${tasks.length})` : ""
  switch (status) {
    case "pending":
      return tasks.length === 0
        ? "Nothing is pending."
        : `You have ${plural(tasks.length, "pending task")}:\n${lines}${tail}`
    case "completed":
      return tasks.length === 0
        ? "You haven't completed any tasks yet."
        : `You have completed ${plural(tasks.length, "task")}:\n${lines}${tail}`
    default:
      return tasks.length === 0
        ? 'You have no tasks yet. Try "add a task to buy groceries".'
        : `You have ${plural(tasks.length, "task")}:\n${lines}${tail}`
  }
}

const verbs = {
  complete: "complete",
  delete: "delete",
  rename: "rename"
} as const

/** Finds the one task a command names; otherwise the reply that explains why not. */
const resolve = (
  tools: ToolRecorder,
  nextId: () => string,
  targetOf: Target,
  verb: string
): Effect.Effect<{ readonly id: number } | { readonly reply: string }> =>
  Effect.gen(function* () {
    if ("id" in targetOf) return { id: targetOf.id }
    if (targetOf.query === "")
      return { reply: `Which task should I ${verb}? Give its number or words from its title.` }
    const outcome = yield* tools.call(nextId(), "todo_list", { query: targetOf.query })
    if (outcome.is_error) return { reply: failure(outcome) }
    const { tasks } = asPage(outcome.result)
    if (tasks.length === 0) return { reply: `No task matches "${targetOf.query}".` }
    if (tasks.length > 1) {
      const choices = tasks.map((task) => `#${task.id} "${task.title}"`).join(", ")
      return {
        reply: `Several tasks match "${targetOf.query}": ${choices}. Which one should I ${verb}? Say for example "${verb} task ${tasks[0]!.id}".`
      }
    }
    return { id: tasks[0]!.id }
  })

const REQUIRED_TOOLS = ["todo_create", "todo_list", "todo_complete", "todo_delete", "todo_update"]

/** One turn: parse, call the tools the command needs, and say what was done. */
const interpret = (input: AgentInput, emit: Emit) =>
  Effect.gen(function* () {
    const tools = makeRecorder(input.tools, emit)
    let counter = 0
    const nextId = () => `offline_${++counter}`
    const reply = (content: string): AgentReply => ({ content, tool_calls: tools.calls() })
    const say = (content: string) => Effect.as(emit({ type: "delta", text: content }), reply(content))

    const available = new Set(input.tools.tools.map((tool) => tool.name))
    if (REQUIRED_TOOLS.some((name) => !available.has(name))) {
      return yield* say("The todo tools are not available here, so I cannot act on your tasks.")
    }

    // Dates are the user's: the turn's present in their zone, else the clock's in UTC.
    const now: LocalNow = input.now ?? {
      epochMillis: yield* Clock.currentTimeMillis,
      timeZone: "UTC",
      weekStart: "monday"
    }
    const today = wallClock(now).date

    const command = parse(input.message)
    switch (command.kind) {
      case "help":
        return yield* say(HELP)
      case "create": {
        const planned = schedule(command.title, now)
        const outcome = yield* tools.call(nextId(), "todo_create", {
          title: planned.title,
          ...(planned.due === undefined ? {} : { due: planned.due }),
          ...(planned.recurrence === undefined ? {} : { recurrence: planned.recurrence })
        })
        const task = asTask(outcome.result)
        if (outcome.is_error || task === undefined) return yield* say(failure(outcome))
        const due = task.due === null ? "" : `, due ${spokenDue(task.due, now)}`
        const repeats = task.recurrence === null ? "" : `, repeating ${spokenRule(task.recurrence)}`
        return yield* say(`Added task #${task.id} "${task.title}"${due}${repeats}.`)
      }
      case "list": {
        const day =
          command.status === "completed" && command.when !== undefined ? dateOf(command.when, now) : undefined
        if (day !== undefined) {
          const outcome = yield* tools.call(nextId(), "todo_list", {
            status: "completed",
            completed_after: day,
            completed_before: addDays(day, 1)
          })
          if (outcome.is_error) return yield* say(failure(outcome))
          const { tasks, more } = asPage(outcome.result)
          return yield* say(
            dueReply(
              [
                `You completed nothing ${spokenDate(day, now)}.`,
                (n) => `You completed ${plural(n, "task")} ${spokenDate(day, now)}:`
              ],
              tasks,
              now,
              more
            )
          )
        }
        const outcome = yield* tools.call(nextId(), "todo_list", { status: command.status })
        return yield* say(listReply(command.status, outcome, now))
      }
      case "due": {
        const view = (params: Record<string, unknown>) =>
          Effect.map(
            tools.call(nextId(), "todo_list", { status: "pending", sort: "due", ...params }),
            (outcome) => (outcome.is_error ? { error: failure(outcome) } : asPage(outcome.result))
          )
        if (command.view === "overdue" || command.view === "none") {
          const page = yield* view({ due: command.view })
          if ("error" in page) return yield* say(page.error)
          return yield* say(dueReply(DUE_HEADINGS[command.view], page.tasks, now, page.more))
        }
        const when = command.when ?? ""
        const days = /\b(?:next|coming)\s+(\d{1,3})\s+days?\b/i.exec(when)
        const weekStart = WEEK_STARTS[now.weekStart]
        const untilWeekEnd = ((weekStart - wallClock(now).weekDay + 7) % 7 || 7) - 1
        if (command.view === "upcoming") {
          const span = days
            ? Math.min(366, Math.max(1, Number(days[1])))
            : /\bnext week\b/i.test(when)
              ? untilWeekEnd + 7
              : /\bthis week\b/i.test(when)
                ? untilWeekEnd
                : 7
          const from = /\bnext week\b/i.test(when) ? addDays(today, untilWeekEnd + 1) : undefined
          const heading: readonly [string, (n: number) => string] = /\bthis week\b/i.test(when)
            ? ["Nothing else is due this week.", (n) => `${plural(n, "task")} due later this week:`]
            : from !== undefined
              ? ["Nothing is due next week.", (n) => `${plural(n, "task")} due next week:`]
              : [
                  `Nothing is due in the next ${plural(span, "day")}.`,
                  (n) => `${plural(n, "task")} due in the next ${plural(span, "day")}:`
                ]
          if (span === 0) return yield* say(heading[0])
          const page = yield* view({ due: "upcoming", due_within_days: span })
          if ("error" in page) return yield* say(page.error)
          const tasks =
            from === undefined
              ? page.tasks
              : page.tasks.filter((t) => t.due !== null && dueDate(t.due, now) >= from)
          return yield* say(dueReply(heading, tasks, now, page.more))
        }
        // "due today", "due tomorrow", "what's due on friday": one day of the user's calendar.
        const named = findMoment(when.replace(/\b(?:due|scheduled|what'?s|what is|anything)\b/gi, " "), now)
        const day = named?.moment.date ?? today
        const onDay = (tasks: ReadonlyArray<TaskView>) =>
          tasks.filter((t) => t.due !== null && dueDate(t.due, now) === day)
        const spoken = spokenDate(day, now)
        const dayWords = ["today", "tomorrow", "yesterday"].includes(spoken) ? spoken : `on ${spoken}`
        const heading: readonly [string, (n: number) => string] = [
          `Nothing is due ${dayWords}.`,
          (n) => `${plural(n, "task")} due ${dayWords}:`
        ]
        if (day === today) {
          const page = yield* view({ due: "today" })
          if ("error" in page) return yield* say(page.error)
          return yield* say(dueReply(heading, page.tasks, now, page.more))
        }
        const ahead = day > today
        const span = ahead ? Math.round((Date.parse(day) - Date.parse(today)) / 86_400_000) : 0
        const page = yield* view(
          ahead ? { due: "upcoming", due_within_days: Math.min(366, span) } : { due: "overdue" }
        )
        if ("error" in page) return yield* say(page.error)
        return yield* say(dueReply(heading, onDay(page.tasks), now, page.more))
      }
      case "reschedule": {
        const found = yield* resolve(tools, nextId, command.target, "move")
        if ("reply" in found) return yield* say(found.reply)
        const moment = findMoment(command.when, now)
        if (moment === undefined)
          return yield* say(
            `I couldn't tell which day "${command.when}" is. Try "next friday" or "dec 5 at 3pm".`
          )
        const due =
          moment.moment.time === undefined
            ? moment.moment.date
            : `${moment.moment.date}T${moment.moment.time}[${now.timeZone}]`
        const outcome = yield* tools.call(nextId(), "todo_update", { id: found.id, due })
        const task = asTask(outcome.result)
        if (outcome.is_error || task === undefined) return yield* say(failure(outcome, found.id))
        return yield* say(`Moved task #${task.id} "${task.title}" to ${spokenDue(task.due ?? due, now)}.`)
      }
      case "skip": {
        const found = yield* resolve(tools, nextId, command.target, "skip")
        if ("reply" in found) return yield* say(found.reply)
        const outcome = yield* tools.call(nextId(), "todo_complete", { id: found.id, skip: true })
        const task = asTask(outcome.result)
        if (outcome.is_error || task === undefined) return yield* say(failure(outcome, found.id))
        return yield* say(
          `Skipped this occurrence of task #${task.id} "${task.title}"; it is now due ${task.due === null ? "later" : spokenDue(task.due, now)}.`
        )
      }
      case "history": {
        const day = command.when === undefined ? undefined : dateOf(command.when, now)
        const outcome = yield* tools.call(nextId(), "todo_history", {
          ...(command.byAssistant ? { surface: "chat" } : {}),
          ...(command.taskId === undefined ? {} : { task_id: command.taskId }),
          ...(day === undefined ? {} : { since: day, until: addDays(day, 1) })
        })
        if (outcome.is_error) return yield* say(failure(outcome, command.taskId))
        return yield* say(historyReply(outcome.result, command.byAssistant, day, now))
      }
      case "restore": {
        if (!available.has("todo_restore")) return yield* say("Restoring tasks is not available here.")
        const outcome = yield* tools.call(nextId(), "todo_restore", { id: command.id })
        const task = asTask(outcome.result)
        if (outcome.is_error || task === undefined) {
          return yield* say(
            /not found/i.test(JSON.stringify(outcome.result))
              ? `Task #${command.id} is not in the trash.`
              : failure(outcome, command.id)
          )
        }
        return yield* say(`Restored task #${task.id} "${task.title}".`)
      }
      case "complete":
      case "delete":
      case "rename": {
        const verb = command.kind === "complete" && !command.completed ? "reopen" : verbs[command.kind]
        const found = yield* resolve(tools, nextId, command.target, verb)
        if ("reply" in found) return yield* say(found.reply)
        const outcome =
          command.kind === "complete"
            ? yield* tools.call(
                nextId(),
                "todo_complete",
                command.completed ? { id: found.id } : { id: found.id, completed: false }
              )
            : command.kind === "delete"
              ? yield* tools.call(nextId(), "todo_delete", { id: found.id })
              : yield* tools.call(nextId(), "todo_update", { id: found.id, title: command.title })
        const asked = awaiting(outcome)
        if (asked !== undefined) return yield* say(`${asked}? yes / no`)
        const task = asTask(outcome.result)
        if (outcome.is_error || task === undefined) return yield* say(failure(outcome, found.id))
        switch (command.kind) {
          case "complete":
            return yield* say(
              command.completed
                ? `Marked task #${task.id} "${task.title}" as complete.`
                : `Reopened task #${task.id} "${task.title}".`
            )
          case "delete":
            return yield* say(`Deleted task #${task.id} "${task.title}".`)
          default:
            return yield* say(`Renamed task #${task.id} to "${task.title}".`)
        }
      }
    }
  })

/** The offline runner as an `AgentRunner` value. */
export const make = AgentRunner.of(traced(AgentRunner, "OfflineAgentRunner", runner(interpret)))

/** `AgentRunner` as the offline command interpreter. */
export const layer: Layer.Layer<AgentRunner> = Layer.succeed(AgentRunner, make)
