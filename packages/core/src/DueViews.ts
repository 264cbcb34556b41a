/**
 * Calendar days in a user's zone and the due views built on them. A date-only due is a whole
 * calendar day in the user's zone, so views compare it as a date; a zoned due is an instant,
 * so views compare it with the instants where the user's days begin. Day starts come from
 * Effect's zone rules, so a 23- or 25-hour day around a DST change is still one day.
 */
import { DateTime, Option } from "effect"

/** A calendar date as text, `YYYY-MM-DD`. */
export type LocalDate = string

/** Which tasks a due view selects: date-only dues by date, zoned dues by instant (both half-open). */
export interface DueWindow {
  readonly fromDate?: LocalDate
  readonly toDate?: LocalDate
  readonly fromMillis?: number
  readonly toMillis?: number
  /** Only open tasks: a completed task is never overdue. */
  readonly openOnly?: boolean
}

export type DueView = "today" | "overdue" | "upcoming" | "none"

export const DEFAULT_UPCOMING_DAYS = 7

/** The user's calendar date at an instant. */
export const localDate = (epochMillis: number, zone: DateTime.TimeZone): LocalDate =>
  DateTime.formatIsoDate(DateTime.makeZonedUnsafe(epochMillis, { timeZone: zone }))

/** The date `days` after a date (calendar arithmetic, zone-free). */
export const addDays = (date: LocalDate, days: number): LocalDate =>
  DateTime.formatIsoDateUtc(DateTime.add(DateTime.makeUnsafe(`${date}T00:00:00Z`), { days }))

/** The instant a calendar date begins in a zone (the first valid wall-clock time where a DST change skips midnight). */
export const startOfDate = (date: LocalDate, zone: DateTime.TimeZone): number => {
  const [year, month, day] = date.split("-").map(Number)
  const start = DateTime.makeZoned(
    { year: year!, month: month!, day: day! },
    { timeZone: zone, adjustForTimeZone: true, disambiguation: "compatible" }
  )
  return DateTime.toEpochMillis(Option.getOrThrow(start))
}

/**
 * The window of a view at `now` in `zone`. Today, overdue and upcoming are disjoint for
 * date-only dues; a zoned due earlier today that has passed is both due today and overdue.
 */
export const dueWindow = (
  view: Exclude<DueView, "none">,
  now: number,
  zone: DateTime.TimeZone,
  upcomingDays: number = DEFAULT_UPCOMING_DAYS
): DueWindow => {
  const today = localDate(now, zone)
  const tomorrow = addDays(today, 1)
  switch (view) {
    case "today":
      return {
        fromDate: today,
        toDate: tomorrow,
        fromMillis: startOfDate(today, zone),
        toMillis: startOfDate(tomorrow, zone)
      }
    case "overdue":
      return { toDate: today, toMillis: now, openOnly: true }
    case "upcoming": {
      const end = addDays(tomorrow, upcomingDays)
      return {
        fromDate: tomorrow,
        toDate: end,
        fromMillis: startOfDate(tomorrow, zone),
        toMillis: startOfDate(end, zone)
      }
    }
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i

/** A moment a caller names: a date means its start in the user's zone; a date-time carries its offset. */
export const isMomentText = (text: string): boolean =>
  (DATE.test(text) &&
    Option.exists(DateTime.make(`${text}T00:00:00Z`), (d) => DateTime.formatIsoDateUtc(d) === text)) ||
  (INSTANT.test(text) && Option.isSome(DateTime.make(text)))

/** The instant of a moment validated by `isMomentText`. */
export const momentMillis = (text: string, zone: DateTime.TimeZone): number =>
  DATE.test(text) ? startOfDate(text, zone) : DateTime.toEpochMillis(DateTime.makeUnsafe(text))
