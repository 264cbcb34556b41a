/**
 * Recurring tasks: the RRULE subset a task's `recurrence` accepts, and its next occurrence.
 * Rules are expanded by `rrule` on the due's wall-clock time ("floating" dates), and each
 * occurrence is placed back in the due's own zone by Effect's `DateTime`, so "every Monday
 * 09:00 Europe/Paris" stays 09:00 in Paris on both sides of a DST change. A date-only due
 * recurs as calendar dates.
 */
import { DateTime, Option, Schema, SchemaTransformation } from "effect"
import rrule from "rrule"

const { RRule } = rrule

const FREQUENCIES = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"] as const
const WEEKDAY = /^(MO|TU|WE|TH|FR|SA|SU)$/
const POSITIONED_WEEKDAY = /^([1-4]|-1)(MO|TU|WE|TH|FR|SA|SU)$/
const UNTIL = /^(\d{4})(\d{2})(\d{2})$/
const MAX_STEPS = 10_000

interface RuleParts {
  readonly freq: (typeof FREQUENCIES)[number]
  readonly interval: number
  readonly byDay: ReadonlyArray<string>
  readonly byMonthDay: number | undefined
  readonly byMonth: number | undefined
  readonly count: number | undefined
  /** The last allowed date, `YYYY-MM-DD`, inclusive. */
  readonly until: string | undefined
}

const integer = (text: string, min: number, max: number): number | undefined => {
  if (!/^-?\d{1,4}$/.test(text)) return undefined
  const n = Number(text)
  return n >= min && n <= max ? n : undefined
}

/** Reads a rule of the accepted subset; the error says which part is outside it. */
export const parseRule = (input: string): { readonly rule: RuleParts } | { readonly error: string } => {
  const text = input
    .trim()
    .toUpperCase()
    .replace(/^RRULE:/, "")
  const parts = new Map<string, string>()
  for (const part of text.split(";")) {
    const [key, value, ...rest] = part.split("=")
    if (key === undefined || value === undefined || value === "" || rest.length > 0 || parts.has(key)) {
      return { error: `"${part}" is not a KEY=VALUE part given once` }
    }
    parts.set(key, value)
  }
  const unknown = [...parts.keys()].filter(
    (key) => !["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL"].includes(key)
  )
  if (unknown.length > 0) return { error: `${unknown.join(", ")} is not supported` }
  const freq = FREQUENCIES.find((f) => f === parts.get("FREQ"))
  if (freq === undefined) return { error: "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY" }
  const interval = parts.has("INTERVAL") ? integer(parts.get("INTERVAL")!, 1, 366) : 1
  if (interval === undefined) return { error: "INTERVAL must be 1 to 366" }
  const byDay = parts.has("BYDAY") ? parts.get("BYDAY")!.split(",") : []
  const byMonthDay = parts.has("BYMONTHDAY") ? integer(parts.get("BYMONTHDAY")!, -1, 31) : undefined
  if (parts.has("BYMONTHDAY") && (byMonthDay === undefined || byMonthDay === 0))
    return { error: "BYMONTHDAY must be one day, 1 to 31, or -1 for the last" }
  const byMonth = parts.has("BYMONTH") ? integer(parts.get("BYMONTH")!, 1, 12) : undefined
  if (parts.has("BYMONTH") && byMonth === undefined) return { error: "BYMONTH must be one month, 1 to 12" }
  const count = parts.has("COUNT") ? integer(parts.get("COUNT")!, 1, 1000) : undefined
  if (parts.has("COUNT") && count === undefined) return { error: "COUNT must be 1 to 1000" }
  let until: string | undefined
  if (parts.has("UNTIL")) {
    const m = UNTIL.exec(parts.get("UNTIL")!)
    const date = m === null ? undefined : `${m[1]}-${m[2]}-${m[3]}`
    const valid =
      date !== undefined &&
      Option.exists(DateTime.make(`${date}T00:00:00Z`), (d) => DateTime.formatIsoDateUtc(d) === date)
    if (!valid) return { error: "UNTIL must be a date written YYYYMMDD" }
    until = date
  }
  if (count !== undefined && until !== undefined) return { error: "give COUNT or UNTIL, not both" }
  switch (freq) {
    case "DAILY":
      if (byDay.length > 0 || parts.has("BYMONTHDAY") || parts.has("BYMONTH"))
        return { error: "DAILY takes no BYDAY, BYMONTHDAY or BYMONTH" }
      break
    case "WEEKLY":
      if (!byDay.every((day) => WEEKDAY.test(day)))
        return { error: "WEEKLY BYDAY lists days such as MO,WE,FR" }
      if (parts.has("BYMONTHDAY") || parts.has("BYMONTH"))
        return { error: "WEEKLY takes no BYMONTHDAY or BYMONTH" }
      break
    case "MONTHLY":
      if (parts.has("BYMONTH")) return { error: "MONTHLY takes no BYMONTH" }
      if (byDay.length > 0 && parts.has("BYMONTHDAY"))
        return { error: "MONTHLY takes BYMONTHDAY or BYDAY, not both" }
      if (byDay.length > 0 && (byDay.length > 1 || !POSITIONED_WEEKDAY.test(byDay[0]!)))
        return { error: "MONTHLY BYDAY is one weekday with its position, such as 2TU or -1FR (last Friday)" }
      break
    case "YEARLY":
      if (byDay.length > 0) return { error: "YEARLY takes no BYDAY" }
      if (parts.has("BYMONTHDAY") && !parts.has("BYMONTH"))
        return { error: "YEARLY BYMONTHDAY needs BYMONTH" }
      break
  }
  return { rule: { freq, interval, byDay, byMonthDay, byMonth, count, until } }
}

/** The rule in its stored form: parts in a fixed order, defaults left out. */
export const formatRule = (rule: RuleParts): string =>
  [
    `FREQ=${rule.freq}`,
    rule.interval === 1 ? undefined : `INTERVAL=${rule.interval}`,
    rule.byMonth === undefined ? undefined : `BYMONTH=${rule.byMonth}`,
    rule.byMonthDay === undefined ? undefined : `BYMONTHDAY=${rule.byMonthDay}`,
    rule.byDay.length === 0 ? undefined : `BYDAY=${rule.byDay.join(",")}`,
    rule.count === undefined ? undefined : `COUNT=${rule.count}`,
    rule.until === undefined ? undefined : `UNTIL=${rule.until.replaceAll("-", "")}`
  ]
    .filter((part) => part !== undefined)
    .join(";")

const SUBSET =
  "an RRULE such as FREQ=WEEKLY;BYDAY=MO: FREQ DAILY, WEEKLY (BYDAY=MO,WE), MONTHLY (BYMONTHDAY=1 or -1, or BYDAY=-1FR), YEARLY (BYMONTH, BYMONTHDAY); INTERVAL; COUNT or UNTIL=YYYYMMDD"

export const Recurrence = Schema.String.annotate({
  description: `How the task repeats, as ${SUBSET}. Needs a due; completing it schedules the next occurrence.`
})
  .pipe(
    Schema.decode(
      SchemaTransformation.transform({
        decode: (s: string) => {
          const parsed = parseRule(s)
          return "rule" in parsed ? formatRule(parsed.rule) : s
        },
        encode: (s: string) => s
      })
    )
  )
  .check(
    Schema.makeFilter(
      (s: string) => {
        const parsed = parseRule(s)
        return "rule" in parsed ? true : `must be ${SUBSET} (${parsed.error})`
      },
      { message: `must be ${SUBSET}` }
    )
  )

// --- occurrences ---------------------------------------------------------------------------

const ZONED_WALL =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?[+-]\d{2}:\d{2}\[([^\]]+)\]$/
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/

interface Wall {
  /** The wall-clock time as a UTC `Date` ("floating"), which is what `rrule` expands. */
  readonly floating: Date
  readonly zone: string | undefined
}

const wallOf = (due: string): Wall | undefined => {
  const date = DATE_ONLY.exec(due)
  if (date) return { floating: new Date(Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!)), zone: undefined }
  const z = ZONED_WALL.exec(due)
  if (!z) return undefined
  return {
    floating: new Date(Date.UTC(+z[1]!, +z[2]! - 1, +z[3]!, +z[4]!, +z[5]!, +z[6]!, +(z[7] ?? 0))),
    zone: z[8]
  }
}

const floatingDate = (d: Date): string => d.toISOString().slice(0, 10)

/** A floating wall-clock time placed in a zone, as a canonical zoned due. */
const placed = (floating: Date, zone: string): string | undefined => {
  const named = DateTime.zoneMakeNamed(zone)
  if (Option.isNone(named)) return undefined
  const zoned = DateTime.makeZoned(
    {
      year: floating.getUTCFullYear(),
      month: floating.getUTCMonth() + 1,
      day: floating.getUTCDate(),
      hour: floating.getUTCHours(),
      minute: floating.getUTCMinutes(),
      second: floating.getUTCSeconds(),
      millisecond: floating.getUTCMilliseconds()
    },
    { timeZone: named.value, adjustForTimeZone: true, disambiguation: "compatible" }
  )
  return Option.match(zoned, { onNone: () => undefined, onSome: DateTime.formatIsoZoned })
}

const WEEKDAYS = { MO: 0, TU: 1, WE: 2, TH: 3, FR: 4, SA: 5, SU: 6 } as const

const expander = (rule: RuleParts, dtstart: Date) =>
  new RRule({
    freq: { DAILY: RRule.DAILY, WEEKLY: RRule.WEEKLY, MONTHLY: RRule.MONTHLY, YEARLY: RRule.YEARLY }[
      rule.freq
    ],
    interval: rule.interval,
    dtstart,
    ...(rule.byMonth === undefined ? {} : { bymonth: rule.byMonth }),
    ...(rule.byMonthDay === undefined ? {} : { bymonthday: rule.byMonthDay }),
    ...(rule.byDay.length === 0
      ? {}
      : {
          byweekday: rule.byDay.map((day) => {
            const m = POSITIONED_WEEKDAY.exec(day)
            const code = (m === null ? day : m[2]) as keyof typeof WEEKDAYS
            const weekday = new rrule.Weekday(WEEKDAYS[code])
            return m === null ? weekday : weekday.nth(Number(m[1]))
          })
        })
  })

export interface NextOccurrence {
  /** The next due, in the form of the current one (a date, or a zoned date-time). */
  readonly due: string
  /** The rule to store with it: a COUNT shrinks by the occurrences used up. */
  readonly recurrence: string
}

/**
 * The first occurrence after both the current due and `today` (the user's date; for a zoned
 * due, the instant `now`), so completing or skipping a task that is days overdue schedules
 * the next one still ahead rather than one already missed. None when the series has ended.
 */
export const nextOccurrence = (
  due: string,
  recurrence: string,
  today: string,
  now: number
): Option.Option<NextOccurrence> => {
  const parsed = parseRule(recurrence)
  const wall = wallOf(due)
  if (!("rule" in parsed) || wall === undefined) return Option.none()
  const rule = parsed.rule
  const series = expander(rule, wall.floating)
  const isAhead = (candidate: Date): boolean => {
    if (wall.zone === undefined) return floatingDate(candidate) > today
    const text = placed(candidate, wall.zone)
    return (
      text !== undefined &&
      Option.exists(DateTime.make(text.replace(/\[.*\]$/, "")), (d) => DateTime.toEpochMillis(d) > now)
    )
  }
  let current = wall.floating
  let used = 0
  for (let step = 0; step < MAX_STEPS; step++) {
    const next = series.after(current, false)
    if (next === null) return Option.none()
    used++
    if (rule.count !== undefined && used >= rule.count) return Option.none()
    if (rule.until !== undefined && floatingDate(next) > rule.until) return Option.none()
    if (isAhead(next)) {
      const text = wall.zone === undefined ? floatingDate(next) : placed(next, wall.zone)
      if (text === undefined) return Option.none()
      const left = rule.count === undefined ? undefined : rule.count - used
      return Option.some({ due: text, recurrence: formatRule({ ...rule, count: left }) })
    }
    current = next
  }
  return Option.none()
}
