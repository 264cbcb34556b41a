/**
 * The task domain: every task field is defined here once, with its limits and a description,
 * and the parameters of each `todo_*` operation are slices of these fields. REST decoding,
 * MCP and OpenAI tool schemas, the OpenAPI document and repository row decoding all derive
 * from these definitions.
 */
import { DateTime, Option, Schema, SchemaTransformation } from "effect"
import { isMomentText } from "./DueViews.ts"
import { Recurrence } from "./Recurrence.ts"

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Text must be storable as it was sent: Postgres refuses NUL characters, and an unpaired
 * surrogate has no UTF-8 form. Refusing both here names the field instead of failing later.
 */
export const isStorableText = Schema.makeFilter(
  (s: string) => !s.includes("\u0000") && !UNPAIRED_SURROGATE.test(s),
  { message: "must be valid text, without NUL characters or unpaired surrogates" }
)

interface TextRules {
  readonly max: number
  /** The field's name in the message for blank input. */
  readonly what: string
  readonly description: string
}

/** Storable text of 1 to `max` characters that is not blank. */
export const boundedText = (options: TextRules) =>
  Schema.String.check(
    Schema.isMinLength(1),
    Schema.isMaxLength(options.max),
    Schema.isPattern(/\S/, { message: `${options.what} must not be blank` }),
    isStorableText
  ).annotate({ description: options.description })

/** A trimmed string: blank input is rejected before trimming so the rule shows in JSON Schema. */
const trimmed = (options: TextRules) => boundedText(options).pipe(Schema.decode(SchemaTransformation.trim()))

/** Ids are stored as 32-bit integers; a larger number can name no task. */
export const MAX_TASK_ID = 2_147_483_647

export const TaskId = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_TASK_ID }))
  .pipe(Schema.brand("TaskId"))
  .annotate({ description: "The task's id, assigned by Taskport." })
export type TaskId = typeof TaskId.Type

export const Title = trimmed({
  max: 200,
  what: "title",
  description: "Short title of the task, 1 to 200 characters; surrounding spaces are removed."
})

export const Description = Schema.String.check(Schema.isMaxLength(2000), isStorableText).annotate({
  description: "Longer free-form notes, at most 2000 characters."
})

export const Priority = Schema.Literals(["low", "medium", "high"]).annotate({
  description: "How important the task is: low, medium (the default) or high."
})
export type Priority = typeof Priority.Type

export const PriorityRank: Record<Priority, number> = { low: 1, medium: 2, high: 3 }

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const ZONED =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?\[([^\]]+)\]$/

const isCalendarDate = (y: number, m: number, d: number): boolean => {
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/** A due value resolved to its canonical text and the instant used for sorting and filtering. */
export interface DueMoment {
  readonly text: string
  readonly epochMillis: number
}

// parseDue is pure, and a listing meets the same few due values again and again: each task's
// due is parsed when its row is decoded, when the result is encoded and when MCP validates it.
// Zoned values cost some 20 µs of time-zone arithmetic each, so results are remembered, in a
// bounded table of short inputs (no valid due is longer) that a flood of values cannot grow.
const MEMO_SIZE = 1024
const MEMO_MAX_INPUT = 80
const memo = new Map<string, Option.Option<DueMoment>>()

/**
 * Parses a due value: a calendar date (`2026-12-01`, placed at 00:00 UTC for ordering) or a
 * wall-clock date-time with an IANA zone (`2026-12-01T09:00[Europe/Paris]`, optionally with
 * seconds and an offset). Zoned values are normalised to the full RFC 9557 form.
 */
export const parseDue = (input: string): Option.Option<DueMoment> => {
  if (input.length > MEMO_MAX_INPUT) return resolveDue(input)
  let parsed = memo.get(input)
  if (parsed === undefined) {
    parsed = resolveDue(input)
    if (memo.size >= MEMO_SIZE) memo.clear()
    memo.set(input, parsed)
  }
  return parsed
}

const resolveDue = (input: string): Option.Option<DueMoment> => {
  const date = DATE.exec(input)
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])]
    return isCalendarDate(y, m, d)
      ? Option.some({ text: input, epochMillis: Date.UTC(y, m - 1, d) })
      : Option.none()
  }
  const zoned = ZONED.exec(input)
  if (!zoned) return Option.none()
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(zoned[i]))
  const s = Number(zoned[6] ?? 0)
  const ms = Number((zoned[7] ?? "0").padEnd(3, "0"))
  if (!isCalendarDate(y!, mo!, d!) || h! > 23 || mi! > 59 || s > 59) return Option.none()
  const zone = DateTime.zoneMakeNamed(zoned[9]!)
  if (Option.isNone(zone)) return Option.none()
  const wallClock = DateTime.makeZoned(
    { year: y!, month: mo!, day: d!, hour: h!, minute: mi!, second: s, millisecond: ms },
    { timeZone: zone.value, adjustForTimeZone: true }
  )
  // An explicit offset must be the zone's own at that moment; one that contradicts it is an error
  // rather than a silent reinterpretation. The offset also settles repeated wall-clock times.
  const offset = zoned[8]
  const moment =
    offset === undefined
      ? wallClock
      : Option.filter(DateTime.makeZonedFromString(input.replace(/Z\[/, "+00:00[")), (z) =>
          DateTime.formatIsoZoned(z).includes(`${offset === "Z" ? "+00:00" : offset}[`)
        )
  return Option.map(moment, (z) => ({
    text: DateTime.formatIsoZoned(z),
    epochMillis: DateTime.toEpochMillis(z)
  }))
}

export const Due = Schema.String.annotate({
  description:
    "When the task is due: a date such as 2026-12-01, or a date-time with an IANA time zone such as 2026-12-01T09:00[Europe/Paris]."
})
  .pipe(
    Schema.decode(
      SchemaTransformation.transform({
        decode: (s: string) => Option.match(parseDue(s), { onNone: () => s, onSome: (m) => m.text }),
        encode: (s: string) => s
      })
    )
  )
  .check(
    Schema.makeFilter((s: string) => Option.isSome(parseDue(s)), {
      message:
        "must be a date (2026-12-01) or a date-time with an IANA time zone (2026-12-01T09:00[Europe/Paris])"
    })
  )

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/
const OFFSET = /^([+-])?P(?:(\d{1,3})D)?(?:T(?:(\d{1,4})H)?(?:(\d{1,6})M)?(?:(\d{1,8})S)?)?$/

/** The longest offset a reminder may have from its due. */
const MAX_OFFSET_MILLIS = 366 * 86_400_000

/**
 * A reminder resolved: at an instant, or at an offset from the due (negative: before it).
 * `text` is the canonical form stored and shown.
 */
export type ReminderSpec =
  | { readonly _tag: "At"; readonly text: string; readonly epochMillis: number }
  | { readonly _tag: "FromDue"; readonly text: string; readonly offsetMillis: number }

/**
 * Parses a reminder: an instant with an offset (`2026-12-01T08:30:00Z`), a date-time with an
 * IANA zone as for a due (`2026-12-01T09:00[Europe/Paris]`), or an ISO 8601 duration from the
 * due in days, hours, minutes and seconds (`-PT30M`: 30 minutes before; a day counts 24 hours).
 */
export const parseReminder = (input: string): Option.Option<ReminderSpec> => {
  const offset = OFFSET.exec(input)
  if (offset) {
    const [days, hours, minutes, seconds] = [2, 3, 4, 5].map((i) => offset[i])
    if ([days, hours, minutes, seconds].every((part) => part === undefined) || input.endsWith("T"))
      return Option.none()
    const magnitude =
      Number(days ?? 0) * 86_400_000 +
      Number(hours ?? 0) * 3_600_000 +
      Number(minutes ?? 0) * 60_000 +
      Number(seconds ?? 0) * 1000
    if (magnitude > MAX_OFFSET_MILLIS) return Option.none()
    return Option.some({
      _tag: "FromDue",
      text: input.replace(/^\+/, ""),
      offsetMillis: offset[1] === "-" ? -magnitude : magnitude
    })
  }
  if (INSTANT.test(input)) {
    return Option.map(DateTime.make(input), (at) => ({
      _tag: "At",
      text: DateTime.formatIso(at),
      epochMillis: DateTime.toEpochMillis(at)
    }))
  }
  if (DATE.test(input)) return Option.none()
  return Option.map(parseDue(input), (due) => ({ _tag: "At", text: due.text, epochMillis: due.epochMillis }))
}

/** The instant a reminder comes for a task due `due` (none: a reminder from a due the task lacks). */
export const remindAt = (spec: ReminderSpec, due: number | null): number | null =>
  spec._tag === "At" ? spec.epochMillis : due === null ? null : due + spec.offsetMillis

export const Reminder = Schema.String.annotate({
  description:
    "When to remind: an instant (2026-12-01T08:30:00Z, or zoned as for due) or a duration from due (-PT30M: 30 min before)."
})
  .pipe(
    Schema.decode(
      SchemaTransformation.transform({
        decode: (s: string) => Option.match(parseReminder(s), { onNone: () => s, onSome: (r) => r.text }),
        encode: (s: string) => s
      })
    )
  )
  .check(
    Schema.makeFilter((s: string) => Option.isSome(parseReminder(s)), {
      message:
        "must be an instant (2026-12-01T08:30:00Z), a zoned date-time (2026-12-01T09:00[Europe/Paris]) or a duration from the due such as -PT30M"
    })
  )

export const Tag = trimmed({
  max: 32,
  what: "tag",
  description: "A label, 1 to 32 characters, stored in lower case."
}).pipe(Schema.decode(SchemaTransformation.toLowerCase()))

export const Tags = Schema.Array(Tag)
  .check(Schema.isMaxLength(20))
  .annotate({ description: "Up to 20 labels; duplicates are removed." })
  .pipe(
    Schema.decode(
      SchemaTransformation.transform({
        decode: (tags: ReadonlyArray<string>): ReadonlyArray<string> => [...new Set(tags)],
        encode: (tags: ReadonlyArray<string>) => tags
      })
    )
  )

export const Version = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
  description: "+1 on every change; pass it as expected_version to avoid lost updates."
})

const Timestamp = (description: string) => Schema.String.annotate({ description })

/**
 * A task as stored and returned. Its values were normalised on the way in, by the parameter
 * schemas (trimmed title, canonical due, reminder and rule, unique lower-case tags), so the
 * fields here are those schemas' type sides: the same checks and JSON Schema, without
 * transformations to run again on every row read and every result sent, which were two fifths
 * of the cost of reading and writing a page of tasks.
 */
export const Task = Schema.Struct({
  id: TaskId,
  title: Schema.toType(Title),
  description: Schema.NullOr(Description),
  priority: Priority,
  completed: Schema.Boolean.annotate({ description: "Whether the task is done." }),
  completed_at: Schema.NullOr(Timestamp("When the task was completed (ISO 8601), or null while it is open.")),
  due: Schema.NullOr(Schema.toType(Due)),
  tags: Schema.toType(Tags),
  recurrence: Schema.NullOr(Schema.toType(Recurrence)),
  reminder: Schema.NullOr(Schema.toType(Reminder)),
  remind_at: Schema.NullOr(Timestamp("When the reminder comes (ISO 8601), or null.")),
  next_occurrence_id: Schema.NullOr(
    TaskId.annotate({ description: "For a completed recurring task, the task of its next occurrence." })
  ),
  version: Version,
  created_at: Timestamp("When the task was created (ISO 8601)."),
  updated_at: Timestamp("When the task last changed (ISO 8601).")
}).annotate({ identifier: "Task", description: "A task owned by the calling user." })
export type Task = typeof Task.Type

// --- operation parameters: slices of the fields above -------------------------------------
// They carry no `identifier`: with one, the derived JSON Schema becomes a `$ref` root, and
// MCP and OpenAI require a tool's parameter schema to be an object at the root.
//
// Every optional key also accepts null, meaning "not given": clients in OpenAI's strict mode
// send every key and null for the ones they leave out. Defaults are applied here, while
// decoding, so every caller (a surface or the library) stores and returns the same values.

const notNull = <A>(value: Option.Option<A | null>): Option.Option<A> =>
  Option.filter(value, (a): a is A => a !== null)

/** An optional key; null counts as absent. */
export const omittable = <S extends Schema.Top>(schema: S) =>
  Schema.optionalKey(Schema.NullOr(schema)).pipe(
    Schema.decodeTo(
      Schema.optionalKey(Schema.toType(schema)),
      SchemaTransformation.transformOptional({ decode: notNull, encode: (value) => value })
    )
  )

/** An optional key that decodes to `value` when absent or null. */
export const defaulted = <S extends Schema.Top>(schema: S, value: S["Type"]) =>
  Schema.optionalKey(Schema.NullOr(schema)).pipe(
    Schema.decodeTo(
      Schema.toType(schema),
      SchemaTransformation.transformOptional({
        decode: (given) => Option.some(Option.getOrElse(notNull(given), () => value)),
        encode: (kept) => kept
      })
    )
  )

/** Notes as a client sends them: an empty string means none, like null. */
const Notes = Schema.NullOr(Description).pipe(
  Schema.decodeTo(
    Schema.NullOr(Schema.toType(Description)),
    SchemaTransformation.transform({
      decode: (notes: string | null) => (notes === "" ? null : notes),
      encode: (notes: string | null) => notes
    })
  )
)

/** A clearable field on creation: absent, null (and for notes an empty string) mean none. */
const noneByDefault = <S extends Schema.Top>(schema: S) =>
  Schema.optionalKey(schema).pipe(
    Schema.decodeTo(
      Schema.toType(schema),
      SchemaTransformation.transformOptional({
        decode: (given) => Option.some(Option.getOrElse(given, () => null as S["Type"])),
        encode: (kept) => kept
      })
    )
  )

const EditableFields = {
  title: Title,
  description: noneByDefault(Notes),
  priority: defaulted(Priority, "medium"),
  due: noneByDefault(Schema.NullOr(Due)),
  tags: defaulted(Tags, []),
  recurrence: noneByDefault(Schema.NullOr(Recurrence)),
  reminder: noneByDefault(Schema.NullOr(Reminder))
}

/**
 * A client-chosen key that makes a write safe to retry: the same key with the same arguments
 * answers what the first call answered without writing again. It carries no description:
 * every write tool takes it, so the MCP instructions say what it does once.
 */
export const IdempotencyKey = Schema.String.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(255),
  Schema.isPattern(/^[\x21-\x7E]+$/, { message: "must be 1 to 255 visible ASCII characters" })
)

const keyed = { idempotency_key: omittable(IdempotencyKey) }

export const CreateTaskParams = Schema.Struct({ ...EditableFields, ...keyed })
export type CreateTaskParams = typeof CreateTaskParams.Type
/** What a caller passes to create a task: only the title is required. */
export type CreateTaskInput = typeof CreateTaskParams.Encoded

export const TaskRef = Schema.Struct({ id: TaskId })
export type TaskRef = typeof TaskRef.Type
export type TaskRefInput = typeof TaskRef.Encoded

const ExpectedVersion = omittable(
  Version.annotate({ description: "Only if the task is still at this version." })
)

export const UpdateTaskParams = Schema.Struct({
  id: TaskId,
  title: omittable(Title),
  description: Schema.optionalKey(
    Notes.annotate({ description: "New notes; null or an empty string clears them." })
  ),
  priority: omittable(Priority),
  due: Schema.optionalKey(Schema.NullOr(Due).annotate({ description: "New due; null clears it." })),
  tags: omittable(Tags),
  recurrence: Schema.optionalKey(
    Schema.NullOr(Recurrence).annotate({ description: "New rule; null stops it." })
  ),
  reminder: Schema.optionalKey(
    Schema.NullOr(Reminder).annotate({ description: "New reminder; null clears it." })
  ),
  expected_version: ExpectedVersion,
  ...keyed
})
export type UpdateTaskParams = typeof UpdateTaskParams.Type
export type UpdateTaskInput = typeof UpdateTaskParams.Encoded

/**
 * A whole replacement of a task's editable fields: the fields it leaves out take the same
 * defaults as on creation. It decodes to parameters `todo_update` accepts as they are.
 */
export const ReplaceTaskParams = Schema.Struct({
  id: TaskId,
  ...EditableFields,
  expected_version: ExpectedVersion
})
export type ReplaceTaskParams = typeof ReplaceTaskParams.Type

export const CompleteTaskParams = Schema.Struct({
  id: TaskId,
  completed: defaulted(
    Schema.Boolean.annotate({ description: "true (the default) marks the task done; false reopens it." }),
    true
  ),
  expected_version: ExpectedVersion,
  skip: omittable(
    Schema.Boolean.annotate({
      description: "true moves a recurring task to its next occurrence without recording a completion."
    })
  ),
  ...keyed
})
export type CompleteTaskParams = typeof CompleteTaskParams.Type
export type CompleteTaskInput = typeof CompleteTaskParams.Encoded

/** Moving a task to the trash, or removing a trashed one for good. */
export const DeleteTaskParams = Schema.Struct({
  id: TaskId,
  permanent: defaulted(
    Schema.Boolean.annotate({
      description: "true: remove a trashed task for good."
    }),
    false
  ),
  expected_version: ExpectedVersion,
  ...keyed
})
export type DeleteTaskParams = typeof DeleteTaskParams.Type
export type DeleteTaskInput = typeof DeleteTaskParams.Encoded

/** Taking a task out of the trash. */
export const RestoreTaskParams = Schema.Struct({ id: TaskId, expected_version: ExpectedVersion, ...keyed })
export type RestoreTaskParams = typeof RestoreTaskParams.Type
export type RestoreTaskInput = typeof RestoreTaskParams.Encoded

export const TaskStatus = Schema.Literals(["all", "pending", "completed", "trashed"]).annotate({
  description: "Which tasks to include: all (the default), pending, completed, or trashed (the trash)."
})
export type TaskStatus = typeof TaskStatus.Type

export const TaskSort = Schema.Literals(["created_at", "updated_at", "due", "priority", "title"]).annotate({
  description:
    "Sort key (default created_at). Sorting by due in ascending order puts tasks without a due date last."
})
export type TaskSort = typeof TaskSort.Type

export const SortOrder = Schema.Literals(["asc", "desc"]).annotate({
  description:
    "Sort direction; defaults to desc for created_at, updated_at and priority, asc for due and title."
})
export type SortOrder = typeof SortOrder.Type

export const defaultOrder = (sort: TaskSort): SortOrder =>
  sort === "due" || sort === "title" ? "asc" : "desc"

export const PageLimit = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })).annotate({
  description: "Page size, 1 to 100 (default 50)."
})

export const DEFAULT_PAGE_LIMIT = 50

export const DueViewParam = Schema.Literals(["today", "overdue", "upcoming", "none"]).annotate({
  description:
    "Due view in the account's time zone: today, overdue (open and past due), upcoming (the days after today, see due_within_days) or none (no due)."
})

/** A moment a caller names in a filter: a date is the start of that day in the user's zone. */
export const Moment = Schema.String.annotate({
  description:
    "A date (its start in the account's time zone) or a date-time with an offset; after is inclusive, before exclusive."
}).check(
  Schema.makeFilter(isMomentText, {
    message: "must be a date (2026-12-01) or a date-time with an offset (2026-12-01T09:00:00Z)"
  })
)

export const ListTasksParams = Schema.Struct({
  status: defaulted(TaskStatus, "all"),
  priority: omittable(Priority),
  tag: omittable(Tag),
  due_before: omittable(Due.annotate({ description: "Only tasks due strictly before this moment." })),
  due_after: omittable(Due.annotate({ description: "Only tasks due strictly after this moment." })),
  due: omittable(DueViewParam),
  due_within_days: omittable(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 366 })).annotate({
      description: "Days after today that due=upcoming covers (default 7)."
    })
  ),
  completed_after: omittable(Moment),
  completed_before: omittable(Moment),
  query: omittable(
    Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200), isStorableText).annotate({
      description: "Case-insensitive text to find in the title or description."
    })
  ),
  sort: defaulted(TaskSort, "created_at"),
  order: omittable(SortOrder),
  cursor: omittable(
    Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1000)).annotate({
      description:
        "The next_cursor of the previous page, to continue a listing with the same filters and sort."
    })
  ),
  limit: defaulted(PageLimit, DEFAULT_PAGE_LIMIT)
})
export type ListTasksParams = typeof ListTasksParams.Type
export type ListTasksInput = typeof ListTasksParams.Encoded

export const TaskPage = Schema.Struct({
  items: Schema.Array(Task),
  next_cursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as cursor to get the next page; null when there are no more tasks."
  })
}).annotate({ identifier: "TaskPage", description: "One page of tasks." })
export type TaskPage = typeof TaskPage.Type
