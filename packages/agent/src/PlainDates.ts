/**
 * Dates and repetition in plain English for the offline interpreter, resolved in the user's
 * zone. Date and time expressions ("tomorrow at 5pm", "next friday", "on dec 5") are read by
 * chrono-node against the user's wall clock; repetition ("every monday", "on the 1st every
 * month", "every other week", "the last friday of each month", "until june") becomes the
 * RRULE subset of the core, and its first due comes from the core's own rule expansion.
 */
import { addDays, type LocalNow, nextOccurrence, parseDue, wallClock } from "@taskport/core"
import * as chrono from "chrono-node"
import { Option } from "effect"

const DAY_CODES: Record<string, string> = {
  mon: "MO",
  tue: "TU",
  wed: "WE",
  thu: "TH",
  fri: "FR",
  sat: "SA",
  sun: "SU"
}
const DAY = String.raw`(mon|tue|wed|thu|fri|sat|sun)(?:day|\.|s|days|nesday|sday|urday|rsday|esday)?`
const ORDINALS: Record<string, number> = {
  first: 1,
  "1st": 1,
  second: 2,
  "2nd": 2,
  third: 3,
  "3rd": 3,
  fourth: 4,
  "4th": 4,
  last: -1
}
const ORDINAL = "first|1st|second|2nd|third|3rd|fourth|4th|last"

/** Chrono reads against a reference whose process-local fields are the user's wall clock. */
const referenceOf = (now: LocalNow): Date => {
  const wall = wallClock(now)
  return new Date(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second)
}

const pad = (n: number) => String(n).padStart(2, "0")

interface Moment {
  readonly date: string
  /** `HH:MM` when the phrase named a time. */
  readonly time: string | undefined
  /** Whether the phrase named a day (rather than only a time). */
  readonly named: boolean
}

const momentOf = (components: chrono.ParsedComponents): Moment => ({
  date: `${components.get("year")}-${pad(components.get("month") ?? 1)}-${pad(components.get("day") ?? 1)}`,
  time: components.isCertain("hour")
    ? `${pad(components.get("hour") ?? 0)}:${pad(components.get("minute") ?? 0)}`
    : undefined,
  named: components.isCertain("day") || components.isCertain("weekday")
})

const dueText = (moment: Moment, now: LocalNow): string =>
  moment.time === undefined ? moment.date : `${moment.date}T${moment.time}[${now.timeZone}]`

/** The first date or date-time expression in a text, and the text without it. */
export const findMoment = (
  text: string,
  now: LocalNow
): { readonly moment: Moment; readonly rest: string } | undefined => {
  const [found] = chrono.casual.parse(text, referenceOf(now), { forwardDate: true })
  if (found === undefined) return undefined
  return {
    moment: momentOf(found.start),
    rest: `${text.slice(0, found.index)} ${text.slice(found.index + found.text.length)}`
  }
}

/** The calendar date a phrase names ("today", "next friday", "dec 5"), in the user's zone. */
export const dateOf = (text: string, now: LocalNow): string | undefined => findMoment(text, now)?.moment.date

interface Repetition {
  readonly rule: string
  readonly rest: string
  /** Whether the rule fixes the days itself (BYDAY, BYMONTHDAY), so the first due follows from it. */
  readonly placed: boolean
}

const take = (
  text: string,
  re: RegExp
): { readonly match: RegExpExecArray; readonly rest: string } | undefined => {
  const match = re.exec(text)
  return match === null
    ? undefined
    : { match, rest: `${text.slice(0, match.index)} ${text.slice(match.index + match[0].length)}` }
}

const dayCodes = (list: string): ReadonlyArray<string> => {
  const codes = [...list.toLowerCase().matchAll(new RegExp(DAY, "g"))].map((m) => DAY_CODES[m[1]!]!)
  return [...new Set(codes)]
}

/** Reads a repetition phrase into a rule; the rest of the text keeps any date or time. */
export const findRepetition = (input: string, now: LocalNow): Repetition | undefined => {
  let text = input
  const parts: Array<string> = []
  let freq: string | undefined
  let interval = 1
  let byDay: string | undefined
  let byMonthDay: number | undefined

  const positioned = take(
    text,
    new RegExp(
      String.raw`\b(?:on\s+)?(?:every|each|the)\s+(${ORDINAL})\s+${DAY}(?:\s+of\s+(?:the|every|each)\s+month)?(?:\s+(?:every|each)\s+month)?\b`,
      "i"
    )
  )
  if (positioned) {
    freq = "MONTHLY"
    byDay = `${ORDINALS[positioned.match[1]!.toLowerCase()]}${DAY_CODES[positioned.match[2]!.toLowerCase()]}`
    text = positioned.rest
  }
  const lastDay = take(text, /\b(?:on\s+)?the\s+last\s+day\s+of\s+(?:the|every|each)\s+month\b/i)
  if (freq === undefined && lastDay) {
    freq = "MONTHLY"
    byMonthDay = -1
    text = lastDay.rest
  }
  if (freq === undefined) {
    const weekdays = take(text, /\b(?:every|each)\s+weekday\b|\bon\s+weekdays\b/i)
    const weekends = take(text, /\b(?:every|each)\s+weekend\b|\bon\s+weekends\b/i)
    const everyDays = take(
      text,
      new RegExp(String.raw`\b(?:every|each)\s+(other\s+)?(${DAY}(?:\s*(?:,|and|&|\+)\s*${DAY})*)\b`, "i")
    )
    const onDays = take(
      text,
      /\bon\s+((?:mon|tues|wednes|thurs|fri|satur|sun)days(?:\s*(?:,|and|&)\s*(?:mon|tues|wednes|thurs|fri|satur|sun)days)*)\b/i
    )
    const days = everyDays
      ? { list: everyDays.match[2]!, other: everyDays.match[1] !== undefined, rest: everyDays.rest }
      : onDays
        ? { list: onDays.match[1]!, other: false, rest: onDays.rest }
        : undefined
    if (weekdays) {
      freq = "WEEKLY"
      byDay = "MO,TU,WE,TH,FR"
      text = weekdays.rest
    } else if (weekends) {
      freq = "WEEKLY"
      byDay = "SA,SU"
      text = weekends.rest
    } else if (days) {
      freq = "WEEKLY"
      if (days.other) interval = 2
      byDay = dayCodes(days.list).join(",")
      text = days.rest
    }
  }
  if (freq === undefined) {
    const every = take(
      text,
      /\b(?:every|each)\s+(?:(other)\s+|(\d{1,3})\s+)?(day|week|fortnight|month|year)s?\b/i
    )
    const adverb = take(text, /\b(daily|weekly|fortnightly|biweekly|monthly|yearly|annually)\b/i)
    if (every) {
      const unit = every.match[3]!.toLowerCase()
      freq = { day: "DAILY", week: "WEEKLY", fortnight: "WEEKLY", month: "MONTHLY", year: "YEARLY" }[unit]
      interval = unit === "fortnight" ? 2 : every.match[1] ? 2 : every.match[2] ? Number(every.match[2]) : 1
      text = every.rest
    } else if (adverb) {
      const word = adverb.match[1]!.toLowerCase()
      freq =
        { daily: "DAILY", weekly: "WEEKLY", fortnightly: "WEEKLY", biweekly: "WEEKLY", monthly: "MONTHLY" }[
          word
        ] ?? "YEARLY"
      if (word === "fortnightly" || word === "biweekly") interval = 2
      text = adverb.rest
    }
  }
  if (freq === undefined) return undefined
  if (freq === "MONTHLY" && byDay === undefined && byMonthDay === undefined) {
    const monthDay =
      take(
        text,
        /\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)?(?:\s+(?:day\s+)?of\s+(?:the|every|each)\s+month)?\b/i
      ) ?? take(text, /\bon\s+the\s+(last)\s+day\b/i)
    if (monthDay) {
      const day = monthDay.match[1]!.toLowerCase() === "last" ? -1 : Number(monthDay.match[1])
      if (day === -1 || (day >= 1 && day <= 31)) {
        byMonthDay = day
        text = monthDay.rest
      }
    }
  }
  parts.push(`FREQ=${freq}`)
  if (interval > 1) parts.push(`INTERVAL=${interval}`)
  if (byMonthDay !== undefined) parts.push(`BYMONTHDAY=${byMonthDay}`)
  if (byDay !== undefined) parts.push(`BYDAY=${byDay}`)
  const times = take(text, /\b(?:for\s+)?(\d{1,3})\s+times\b/i)
  if (times) {
    parts.push(`COUNT=${Number(times.match[1])}`)
    text = times.rest
  } else {
    const until = take(text, /\b(?:until|till|through|up to)\s+(.+?)$/i)
    const last = until === undefined ? undefined : dateOf(until.match[1]!, now)
    if (until && last !== undefined) {
      parts.push(`UNTIL=${last.replaceAll("-", "")}`)
      text = until.rest
    }
  }
  return { rule: parts.join(";"), rest: text, placed: byDay !== undefined || byMonthDay !== undefined }
}

export interface Scheduled {
  readonly title: string
  readonly due?: string
  readonly recurrence?: string
}

const CONNECTORS =
  /^(?:\s*(?:,|on|at|by|due|before|from|starting|for|in|every|each|and)\b)+|(?:\b(?:on|at|by|due|before|from|starting|for|in|every|each|and)\s*|,\s*)+$/gi

const cleanTitle = (text: string): string => {
  const title = text.replace(/\s+/g, " ").trim().replace(CONNECTORS, "").trim()
  return title.charAt(0).toUpperCase() + title.slice(1)
}

/**
 * A task as said: its title without the date and repetition words, its due in the user's
 * zone and its rule. A rule that fixes its days ("every monday", "on the 1st every month")
 * starts at its first occurrence from today (from now, when a time was named) unless a start
 * date was named; any other rule starts on the date named, or today.
 */
export const schedule = (text: string, now: LocalNow): Scheduled => {
  const repetition = findRepetition(text, now)
  const base = repetition?.rest ?? text
  const found = findMoment(base, now)
  const title = cleanTitle(found?.rest ?? base)
  if (title === "") return { title: cleanTitle(text) }
  if (repetition === undefined) {
    return found === undefined ? { title } : { title, due: dueText(found.moment, now) }
  }
  const recurrence = repetition.rule
  const today = wallClock(now).date
  if (found !== undefined && (found.moment.named || !repetition.placed)) {
    return { title, due: dueText(found.moment, now), recurrence }
  }
  if (!repetition.placed) return { title, due: today, recurrence }
  // The first occurrence on or after today (after now, for a time of day): expand from yesterday.
  // The interval is left out there: a series starts at its first matching day, and its
  // interval counts from that first due.
  const anchor = dueText({ date: addDays(today, -1), time: found?.moment.time, named: false }, now)
  const first = nextOccurrence(
    Option.match(parseDue(anchor), { onNone: () => anchor, onSome: (due) => due.text }),
    recurrence.replace(/;INTERVAL=\d+/, ""),
    addDays(today, -1),
    now.epochMillis
  )
  return { title, due: Option.match(first, { onNone: () => today, onSome: (next) => next.due }), recurrence }
}
