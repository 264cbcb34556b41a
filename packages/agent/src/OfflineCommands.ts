/**
 * The command shapes the offline runner understands, read from a message into a `Command`:
 * adding, listing by status or due view, moving a due date or skipping a repetition,
 * completing and reopening, deleting, restoring, renaming, and the history. Anything else is
 * `help`. Pure text work: dates stay words here (the runner reads them with `PlainDates` in
 * the user's zone), and nothing here runs a tool.
 */
export type Status = "all" | "pending" | "completed"
export type Target = { readonly id: number } | { readonly query: string }

export type DueView = "today" | "overdue" | "upcoming" | "none"

export type Command =
  | { readonly kind: "create"; readonly title: string }
  | { readonly kind: "list"; readonly status: Status; readonly when?: string }
  | { readonly kind: "due"; readonly view: DueView; readonly when?: string }
  | { readonly kind: "reschedule"; readonly target: Target; readonly when: string }
  | { readonly kind: "skip"; readonly target: Target }
  | { readonly kind: "complete"; readonly target: Target; readonly completed: boolean }
  | { readonly kind: "delete"; readonly target: Target }
  | { readonly kind: "restore"; readonly id: number }
  | { readonly kind: "rename"; readonly target: Target; readonly title: string }
  /** "What did you change yesterday?": the changes made (by the assistant when asked about "you"). */
  | {
      readonly kind: "history"
      readonly byAssistant: boolean
      readonly when?: string
      readonly taskId?: number
    }
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

  const asked =
    pattern(
      String.raw`^(?:what|which\s+\w+)\s+(?:did|have|has)\s+(you|i|we)\s+(?:changed?|done|do|edit(?:ed)?|modif(?:y|ied)|touch(?:ed)?)(?:\s+(?:on|to|in)\s+${TASK_NO})?(?:\s+(.+))?$`
    ).exec(text) ??
    pattern(
      String.raw`^what\s+(?:has\s+)?(?:changed|happened)()(?:\s+(?:on|to|in)\s+${TASK_NO})?(?:\s+(.+))?$`
    ).exec(text)
  const historyOf = pattern(
    String.raw`^(?:show\s+(?:me\s+)?)?(?:the\s+)?()history(?:\s+of\s+${TASK_NO})?()$`
  ).exec(text)
  if (asked || historyOf) {
    const match = (asked ?? historyOf)!
    const taskId = match[2] === undefined ? undefined : Number(match[2])
    const when = match[3]?.trim()
    return {
      kind: "history",
      byAssistant: match[1]?.toLowerCase() === "you",
      ...(taskId === undefined ? {} : { taskId }),
      ...(when === undefined || when === "" ? {} : { when })
    }
  }

  const reschedule =
    pattern(
      `^(?:move|reschedule|postpone|push(?:\\s+back)?|defer|delay|shift|set\\s+the\\s+due\\s+date\\s+(?:of|for)|change\\s+the\\s+due\\s+date\\s+(?:of|for))\\s+(?:${TASK_NO}|(?:the\\s+|my\\s+)?(.+?)(?:\\s+(?:${TASK_WORD}))?)\\s+(?:to|until|till|for|on|by|back\\s+to)\\s+(.+)$`
    ).exec(text) ?? pattern(`^(?:make\\s+)?${TASK_NO}\\s+(?:is\\s+)?(?:now\\s+)?due\\s+(.+)$`).exec(text)
  if (reschedule) {
    const when = reschedule[3] ?? reschedule[2]!
    return reschedule[3] === undefined
      ? { kind: "reschedule", target: byId(reschedule[1]!), when }
      : { kind: "reschedule", target: target(reschedule[1], reschedule[2]), when }
  }

  const skip =
    pattern(`^skip\\s+${TASK_NO}(?:\\s+.*)?$`).exec(text) ??
    pattern(
      `^skip\\s+(?:this\\s+\\w+'s\\s+|the\\s+next\\s+|the\\s+|my\\s+)?()(.+?)(?:\\s+(?:${TASK_WORD}))?(?:\\s+(?:this|today|once))?$`
    ).exec(text)
  if (skip) return { kind: "skip", target: target(skip[1] || undefined, skip[2]) }

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
      `^(?:add|create|make|new|put|schedule|plan)\\s+(?:a\\s+|an\\s+)?(?:new\\s+)?(?:(?:${TASK_WORD})\\s*)?(?:to\\s+|:\\s*|called\\s+|named\\s+|for\\s+|saying\\s+)?(.+)$`
    ).exec(text) ??
    pattern(
      "^(?:remind me to|i need to remember to|i have to remember to|i must remember to|i should remember to|remember to|don'?t forget to|i need to|i have to|i must|i should|i want to)\\s+(.+)$"
    ).exec(text)
  if (add) {
    const title = toTitle(add[1]!)
    if (title !== "") return { kind: "create", title }
  }

  if (/\b(?:completed|finished|done|did i (?:complete|finish|do|get done))\b/i.test(text)) {
    // A day named with it ("yesterday", "on monday") becomes a completion-time filter.
    return /\b(?:today|yesterday|tonight|this|last|on|since|ago|\d)/i.test(text)
      ? { kind: "list", status: "completed", when: text }
      : { kind: "list", status: "completed" }
  }
  // A question or a listing asks about dues; a statement with a date or a repetition in it
  // ("pay rent on the 1st every month") is a task to add.
  const asking =
    /^(?:what|which|when|whats|show|list|any|anything|is|are|do|does|did|have|has|tell|give|how|get|see|view|display)\b/i.test(
      text
    ) ||
    /\b(?:tasks?|todos?|to-dos?|things|items|anything|everything|stuff)\b/i.test(text) ||
    text.split(" ").length <= 3
  if (asking) {
    if (/\b(?:overdue|past due|late|missed|behind)\b/i.test(text)) return { kind: "due", view: "overdue" }
    if (
      /\b(?:no due date|no due|without (?:a )?due|undated|unscheduled|no deadlines?|without (?:a )?deadline)\b/i.test(
        text
      )
    )
      return { kind: "due", view: "none" }
    if (/\b(?:upcoming|coming up|soon|ahead|this week|next week|next \d+ days|coming \d+ days)\b/i.test(text))
      return { kind: "due", view: "upcoming", when: text }
    if (/\b(?:due|scheduled|deadlines?|agenda|planned|on my plate|today|tonight|tomorrow)\b/i.test(text))
      return { kind: "due", view: "today", when: text }
  } else if (
    /\b(?:every|each|daily|weekly|fortnightly|monthly|yearly|annually|weekdays|weekends|today|tonight|tomorrow|next|on|at|by|due|in|for)\b/i.test(
      text
    ) &&
    /\b(?:every|each|daily|weekly|fortnightly|monthly|yearly|annually|weekdays?|weekends?|today|tonight|tomorrow|mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|noon|midnight|morning|evening|\d{1,2}(?::\d\d)?\s*(?:am|pm)|\d{1,2}(?:st|nd|rd|th)|\d{4}-\d{2}-\d{2}|\d{1,2}\/\d{1,2})/i.test(
      text
    )
  ) {
    return { kind: "create", title: toTitle(text) }
  }
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
