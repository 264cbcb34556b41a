/**
 * An agent runner that needs no model: a deterministic interpreter of a few English command
 * shapes ("add a task to ...", "what's pending?", "mark task 3 as complete", "delete the
 * meeting task", "restore task 3", ...). It is a command interpreter, not an AI: anything outside those
 * shapes gets a help reply. It acts only through the turn's `ToolSource`, so its calls are
 * recorded like a model's. Used when no model is configured, and in examples and tests.
 */
import { type AgentInput, type AgentReply, AgentRunner, type ToolOutcome, traced } from "@taskport/core"
import { Effect, Layer } from "effect"
import { type Emit, makeRecorder, runner, type ToolRecorder } from "./TurnEvents.ts"

type Status = "all" | "pending" | "completed"
type Target = { readonly id: number } | { readonly query: string }

export type Command =
  | { readonly kind: "create"; readonly title: string }
  | { readonly kind: "list"; readonly status: Status }
  | { readonly kind: "complete"; readonly target: Target; readonly completed: boolean }
  | { readonly kind: "delete"; readonly target: Target }
  | { readonly kind: "restore"; readonly id: number }
  | { readonly kind: "rename"; readonly target: Target; readonly title: string }
  | { readonly kind: "help" }

const TASK_NO = String.raw`task\s*(?:number\s*|no\.?\s*|#\s*)?(\d{1,10})`
const DONE = "complete|completed|done|finished"
const NOT_DONE = "not done|not complete|not completed|incomplete|pending|open|undone|unfinished"
const TASK_WORD = "task|todo|to-do|reminder|item"

const pattern = (source: string) => new RegExp(source, "i")

const unquote = (text: string): string => {
  const trimmed = text.trim()
  const quoted = /^["'“‘](.*)["'”’]$/s.exec(trimmed)
  return (quoted ? quoted[1]! : trimmed).trim()
}

/** A title as the user said it, without list phrasing, starting with a capital letter. */
const toTitle = (text: string): string => {
  const title = unquote(
    text.replace(/\s+(?:to|on|onto)\s+(?:my|the)\s+(?:list|tasks|todo list|to-do list|todos)$/i, "")
  )
  return title.charAt(0).toUpperCase() + title.slice(1)
}

const toQuery = (text: string): string =>
  unquote(text.replace(new RegExp(`\\s+(?:${TASK_WORD}|one)$`, "i"), ""))

const byId = (digits: string): Target => ({ id: Number(digits) })

/** Names the task either by number ("task 3") or by words from its title ("the meeting task"). */
const target = (id: string | undefined, words: string | undefined): Target =>
  id !== undefined ? byId(id) : { query: toQuery(words ?? "") }

/** Reads one message into a command; the order of the rules matters where phrasings overlap. */
export const parse = (message: string): Command => {
  const text = message
    .trim()
    .replace(/\s+/g, " ")
    .replace(/[\s.!?]+$/, "")
    .replace(/^(?:please|hey|hi|ok|okay|can you|could you|would you)[\s,]+/i, "")
    .replace(/^please\s+/i, "")
  if (text === "") return { kind: "help" }

  const rename = pattern(
    `^(?:change|rename|update|edit|retitle)\\s+(?:${TASK_NO}|(?:the\\s+)?(.+?)\\s+(?:${TASK_WORD}))\\s+(?:to|into|as)\\s+(.+)$`
  ).exec(text)
  if (rename) {
    return { kind: "rename", target: target(rename[1], rename[2]), title: toTitle(rename[3]!) }
  }

  const reopen =
    pattern(`^(?:mark|set)\\s+${TASK_NO}\\s+(?:as\\s+)?(?:${NOT_DONE})$`).exec(text) ??
    pattern(`^(?:reopen|undo|uncheck|unmark)\\s+${TASK_NO}$`).exec(text)
  if (reopen) return { kind: "complete", target: byId(reopen[1]!), completed: false }

  const restore = pattern(`^(?:restore|undelete|recover|bring back|untrash)\\s+${TASK_NO}$`).exec(text)
  if (restore) return { kind: "restore", id: Number(restore[1]) }

  const completeById =
    pattern(`^(?:mark|set)\\s+${TASK_NO}\\s+(?:as\\s+)?(?:${DONE})$`).exec(text) ??
    pattern(`^(?:complete|finish|check off|tick off|close)\\s+${TASK_NO}$`).exec(text) ??
    pattern(`^${TASK_NO}\\s+is\\s+(?:${DONE})$`).exec(text)
  if (completeById) return { kind: "complete", target: byId(completeById[1]!), completed: true }

  const completeByTitle =
    pattern(`^(?:mark|set)\\s+(?:the\\s+)?(.+?)\\s+(?:${TASK_WORD})\\s+(?:as\\s+)?(?:${DONE})$`).exec(text) ??
    pattern(`^(?:complete|finish|check off|tick off|close)\\s+the\\s+(.+?)(?:\\s+(?:${TASK_WORD}))?$`).exec(
      text
    ) ??
    pattern(`^i\\s+(?:have\\s+)?(?:finished|completed|did)\\s+the\\s+(.+?)(?:\\s+(?:${TASK_WORD}))?$`).exec(
      text
    )
  if (completeByTitle)
    return { kind: "complete", target: target(undefined, completeByTitle[1]), completed: true }

  const remove =
    pattern(`^(?:delete|remove|drop|cancel|erase|get rid of)\\s+${TASK_NO}$`).exec(text) ??
    pattern(`^(?:delete|remove|drop|cancel|erase|get rid of)\\s+(?:the\\s+|my\\s+)?()(.+)$`).exec(text)
  if (remove) return { kind: "delete", target: target(remove[1] || undefined, remove[2]) }

  const add =
    pattern(
      `^(?:add|create|make|new|put)\\s+(?:a\\s+|an\\s+)?(?:new\\s+)?(?:(?:${TASK_WORD})\\s*)?(?:to\\s+|:\\s*|called\\s+|named\\s+|for\\s+|saying\\s+)?(.+)$`
    ).exec(text) ??
    pattern(
      "^(?:remind me to|i need to remember to|i have to remember to|i must remember to|i should remember to|remember to|don'?t forget to|i need to|i have to|i must|i should|i want to)\\s+(.+)$"
    ).exec(text)
  if (add) {
    const title = toTitle(add[1]!)
    if (title !== "") return { kind: "create", title }
  }

  if (/\b(?:completed|finished|done)\b/i.test(text)) return { kind: "list", status: "completed" }
  if (/\b(?:pending|open|left|remaining|outstanding|unfinished|incomplete|not done|to do)\b/i.test(text)) {
    return { kind: "list", status: "pending" }
  }
  if (
    /\b(?:show|list|see|view|display|what are|what's on|what is on|give me|tell me)\b.*\b(?:tasks?|todos?|to-dos?|list)\b/i.test(
      text
    ) ||
    /^(?:my\s+)?(?:tasks|todos|to-dos|list)$/i.test(text)
  ) {
    return { kind: "list", status: "all" }
  }
  return { kind: "help" }
}

export const HELP = [
  "I'm Taskport's offline assistant: a simple command interpreter, not an AI (no language model is configured).",
  "I understand requests like:",
  '- "add a task to buy groceries" or "I need to remember to pay bills"',
  '- "show me all my tasks", "what\'s pending?", "what have I completed?"',
  '- "mark task 3 as complete", "reopen task 3"',
  '- "delete task 2" or "delete the meeting task", and "restore task 2" to undo it',
  "- \"change task 1 to 'Call mom tonight'\""
].join("\n")

interface TaskView {
  readonly id: number
  readonly title: string
  readonly completed: boolean
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const asTask = (value: unknown): TaskView | undefined =>
  isRecord(value) && typeof value.id === "number" && typeof value.title === "string"
    ? { id: value.id, title: value.title, completed: value.completed === true }
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

const line = (task: TaskView) => `- #${task.id} ${task.title}${task.completed ? " (done)" : ""}`

/** A failed call in the user's words. */
const failure = (outcome: ToolOutcome, id?: number): string => {
  const message = typeof outcome.result === "string" ? outcome.result : JSON.stringify(outcome.result)
  if (id !== undefined && /not found/i.test(message)) {
    return `I couldn't find task #${id}. Say "show me all my tasks" to see their numbers.`
  }
  return `That did not work: ${message}`
}

const listReply = (status: Status, outcome: ToolOutcome): string => {
  if (outcome.is_error) return failure(outcome)
  const { tasks, more } = asPage(outcome.result)
  const lines = tasks.map(line).join("\n")
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

    const command = parse(input.message)
    switch (command.kind) {
      case "help":
        return yield* say(HELP)
      case "create": {
        const outcome = yield* tools.call(nextId(), "todo_create", { title: command.title })
        const task = asTask(outcome.result)
        if (outcome.is_error || task === undefined) return yield* say(failure(outcome))
        return yield* say(`Added task #${task.id} "${task.title}".`)
      }
      case "list": {
        const outcome = yield* tools.call(nextId(), "todo_list", { status: command.status })
        return yield* say(listReply(command.status, outcome))
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
