/**
 * Keeps MCP tool results small enough for a model's context: `todo_list` shows description
 * previews unless the caller asks for full ones, and every result is held under one byte
 * budget. The MCP-specific parameter and result schemas of `todo_list` live here, so the
 * output schema a client validates against describes exactly what the server sends.
 */
import { ListTasksParams, omittable, Task, TaskPage } from "@taskport/core"
import { Schema } from "effect"

/**
 * The most a tool result may weigh, counted as the UTF-8 bytes of its JSON form (text content
 * and structured content together, as a client receives and counts them). Claude Code refuses
 * tool results above 25,000 tokens, about 100 KB at the usual ~4 characters per token; JSON
 * punctuation, ids, timestamps and non-Latin text tokenise far more densely than prose, so
 * half of that keeps a page safely under the cap and leaves most of a context window free.
 * The heaviest single task (every field at its limit, every character JSON-escaped to six
 * bytes) weighs about 22 KB in a result, so a page of one always fits.
 */
export const RESULT_BUDGET_BYTES = 50_000

/** How many characters of a description a `todo_list` result shows unless full ones are asked for. */
export const DESCRIPTION_PREVIEW_LENGTH = 200

const encoder = new TextEncoder()

/** The weight of a value as sent: the UTF-8 bytes of its JSON text. */
export const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).length

/**
 * Whether a value's JSON fits the budget. Most results are settled by the text's length alone
 * (a UTF-16 unit takes one to three UTF-8 bytes), so only a few are encoded to be weighed.
 */
export const fitsBudget = (value: unknown): boolean => {
  const text = JSON.stringify(value)
  if (text.length * 3 <= RESULT_BUDGET_BYTES) return true
  if (text.length > RESULT_BUDGET_BYTES) return false
  return encoder.encode(text).length <= RESULT_BUDGET_BYTES
}

// A character JSON leaves as it is weighs at most 3 UTF-8 bytes; one it escapes (quotes,
// backslashes, control characters), at most 6.
const ESCAPED = /["\\\p{Cc}]/u
const textBound = (text: string): number => text.length * (ESCAPED.test(text) ? 6 : 3)

/**
 * The most a listed task can add to a result, from its texts alone: its structured form, and
 * its line in the text content, which repeats the title, due and tags. The other fields
 * (numbers, flags, timestamps, keys and punctuation) stay within the fixed allowance.
 */
const taskBound = (task: EncodedListedTask): number => {
  let texts = textBound(task.title) * 2 + (task.description === null ? 0 : textBound(task.description))
  if (task.due !== null) texts += textBound(task.due) * 2
  if (task.recurrence !== null) texts += textBound(task.recurrence)
  if (task.reminder !== null) texts += textBound(task.reminder)
  if (task.remind_at !== null) texts += textBound(task.remind_at)
  for (const tag of task.tags) texts += textBound(tag) * 2 + 8
  return texts + 600
}

/**
 * Whether a page certainly fits the budget, judged without serialising it: most pages are
 * far below it, and weighing their JSON cost a tenth of an MCP listing's CPU time.
 */
export const certainlyFits = (items: ReadonlyArray<EncodedListedTask>, cursor: string | null): boolean => {
  let bound = 1_000 + (cursor === null ? 0 : textBound(cursor))
  for (const task of items) {
    bound += taskBound(task)
    if (bound > RESULT_BUDGET_BYTES) return false
  }
  return true
}

/** `todo_list`'s parameters over MCP: the core's, plus the choice of full descriptions. */
export const McpListParams = Schema.Struct({
  ...ListTasksParams.fields,
  full_descriptions: omittable(
    Schema.Boolean.annotate({
      description: `true returns whole descriptions; by default each is cut to a ${DESCRIPTION_PREVIEW_LENGTH}-character preview.`
    })
  )
})

/** A task as `todo_list` shows it over MCP: its description may be a preview. */
export const ListedTask = Schema.Struct({
  ...Task.fields,
  description_truncated: Schema.optionalKey(
    Schema.Boolean.annotate({
      description: "Present and true when description is only a preview; todo_read gives the whole text."
    })
  )
}).annotate({ identifier: "ListedTask", description: "A task owned by the calling user." })

export const McpTaskPage = Schema.Struct({
  items: Schema.Array(ListedTask),
  next_cursor: TaskPage.fields.next_cursor,
  truncated: Schema.optionalKey(
    Schema.Boolean.annotate({
      description:
        "Present and true when the page holds fewer tasks than the limit asked for, to keep the result small; next_cursor continues after the last task shown."
    })
  )
}).annotate({ identifier: "TaskPage", description: "One page of tasks." })

export type EncodedTask = typeof Task.Encoded
export type EncodedListedTask = typeof ListedTask.Encoded
export type EncodedMcpTaskPage = typeof McpTaskPage.Encoded

const HIGH_SURROGATE = /[\uD800-\uDBFF]$/

/**
 * The first `length` characters of a text, never splitting a surrogate pair (the preview must
 * remain valid text), with the trailing space dropped and an ellipsis marking the cut.
 */
export const preview = (text: string, length = DESCRIPTION_PREVIEW_LENGTH): string => {
  let head = text.slice(0, length)
  if (HIGH_SURROGATE.test(head)) head = head.slice(0, -1)
  return `${head.trimEnd()}…`
}

/** A task as listed: its description cut to a preview when it is longer than one. */
export const listed = (task: EncodedTask): EncodedListedTask =>
  task.description !== null && task.description.length > DESCRIPTION_PREVIEW_LENGTH
    ? { ...task, description: preview(task.description), description_truncated: true }
    : task

const Fields = Schema.Record(Schema.String, Schema.Unknown)

/**
 * `todo_history`'s result as its output schema describes it over MCP: the same events, with
 * the nested task, actor and changes typed as plain objects. The full TaskEvent schema
 * would cost the tool list more than any other tool (the whole Task schema once more), and
 * every field is explained in the text block and the REST document.
 */
export const McpEventPage = Schema.Struct({
  items: Schema.Array(
    Schema.Struct({
      id: Schema.String,
      position: Schema.Int,
      type: Schema.String,
      task_id: Schema.Int,
      task_version: Schema.Int,
      occurred_at: Schema.String,
      actor: Fields,
      task: Schema.NullOr(Fields),
      changes: Fields
    })
  ),
  next_cursor: Schema.NullOr(Schema.String)
}).annotate({ identifier: "EventPage", description: "One page of task events." })
