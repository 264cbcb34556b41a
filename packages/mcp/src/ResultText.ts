/**
 * The text that accompanies every MCP tool result, for clients that show only text: a line
 * per task, the page's notes (what was cut, how to go on), a batch's outcome item by item and
 * the history's changes; and how many of a page's tasks fit the result budget with their text.
 */
import type { CallToolResult } from "@modelcontextprotocol/server"
import type { BatchResult, EventPage, Task, TodoToolName } from "@taskport/core"
import {
  type EncodedMcpTaskPage,
  type EncodedTask,
  jsonBytes,
  RESULT_BUDGET_BYTES
} from "./CompactResults.ts"

type TaskLineFields = Pick<
  EncodedTask,
  "id" | "title" | "completed" | "priority" | "due" | "tags" | "version"
>

const taskLine = (task: TaskLineFields) =>
  `#${task.id} ${JSON.stringify(task.title)} [${task.completed ? "done" : "open"}, ${task.priority}${task.due === null ? "" : `, due ${task.due}`}${task.tags.length === 0 ? "" : `, tags ${task.tags.join(",")}`}, v${task.version}]`

/** The text block of a `todo_list` result: one line per task, then what was cut and how to go on. */
const summarizePage = (page: EncodedMcpTaskPage, requested: number): string => {
  const lines = page.items.map(taskLine)
  const head = page.items.length === 0 ? "No tasks match." : `${page.items.length} task(s):`
  const notes: Array<string> = []
  if (page.truncated === true) {
    notes.push(
      `Only ${page.items.length} of the ${requested} tasks asked for are shown, to keep this result under ${RESULT_BUDGET_BYTES / 1000} KB.`
    )
  }
  if (page.items.some((task) => task.description_truncated === true)) {
    notes.push(
      "Descriptions marked description_truncated are previews: call todo_read for a whole task, or todo_list with full_descriptions: true."
    )
  }
  if (page.next_cursor !== null) {
    notes.push(`More tasks: call todo_list again with cursor "${page.next_cursor}".`)
  }
  return [head, ...lines, ...notes].join("\n")
}

export const pageResult = (page: EncodedMcpTaskPage, requested: number): CallToolResult => ({
  content: [{ type: "text", text: summarizePage(page, requested) }],
  structuredContent: page
})

/**
 * How many of a page's tasks fit the budget, estimated from each task's share of the result
 * (its structured form and its text line); the page actually sent is measured again.
 */
export const tasksThatFit = (page: EncodedMcpTaskPage, requested: number): number => {
  const reserve = Math.max(page.next_cursor?.length ?? 0, 400) * 2
  let used = jsonBytes(pageResult({ items: [], next_cursor: null, truncated: true }, requested)) + reserve
  let count = 0
  for (const task of page.items) {
    used += jsonBytes(task) + 1 + jsonBytes(taskLine(task)) + 2
    if (used > RESULT_BUDGET_BYTES) break
    count++
  }
  return count
}

/** The short text block that accompanies structured results, for clients that show only text. */
export const summarize = (name: Exclude<TodoToolName, "todo_list">, value: unknown): string => {
  if (name === "todo_batch") return summarizeBatch(value as BatchResult)
  if (name === "todo_history") return summarizeHistory(value as EventPage)
  const task = value as Task
  const verb = {
    todo_create: "Created",
    todo_read: "Task",
    todo_update: "Updated",
    todo_delete: "Deleted",
    todo_restore: "Restored",
    todo_complete: task.completed ? "Completed" : "Reopened"
  }[name]
  return `${verb} ${taskLine(task)}`
}

/** One line per event: when, what, which task and version, through which surface, and what changed. */
const summarizeHistory = (page: EventPage): string => {
  const lines = page.items.map((event) => {
    const changed = Object.entries(event.changes)
      .map(
        ([field, change]) => `${field}: ${JSON.stringify(change.before)} -> ${JSON.stringify(change.after)}`
      )
      .join("; ")
    const title = event.task === null ? "" : ` ${JSON.stringify(event.task.title)}`
    return `${event.occurred_at} ${event.type} #${event.task_id}${title} v${event.task_version} via ${event.actor.surface}${changed === "" ? "" : ` (${changed})`}`
  })
  const head = page.items.length === 0 ? "No changes match." : `${page.items.length} change(s):`
  const more =
    page.next_cursor === null ? [] : [`More: call todo_history again with cursor "${page.next_cursor}".`]
  return [head, ...lines, ...more].join("\n")
}

/** A batch's outcome, one line per item in order. */
const summarizeBatch = (result: BatchResult): string =>
  [
    `Applied ${result.applied} of ${result.results.length}:`,
    ...result.results.map((item, index) =>
      item.task === null
        ? `${index}. ${item.failure?.error ?? "Failed"}: ${item.failure?.message ?? ""}`
        : `${index}. #${item.task.id} ${JSON.stringify(item.task.title)} [${item.task.completed ? "done" : "open"}, v${item.task.version}]`
    )
  ].join("\n")
