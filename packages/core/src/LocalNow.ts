/**
 * The user's present as an agent needs it: the instant, the zone it is read in and the first
 * day of the week, plus the same in words, so "tomorrow" and "next Friday" mean the user's.
 */
import { DateTime } from "effect"

export interface LocalNow {
  readonly epochMillis: number
  /** The effective IANA zone (stored setting, else the request's, else UTC). */
  readonly timeZone: string
  readonly weekStart: "monday" | "sunday" | "saturday"
}

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

/** The user's wall-clock parts at `now`. */
export const wallClock = (now: LocalNow) => {
  const zoned = DateTime.makeZonedUnsafe(now.epochMillis, { timeZone: now.timeZone })
  const parts = DateTime.toParts(zoned)
  return {
    ...parts,
    date: DateTime.formatIsoDate(zoned),
    weekdayName: WEEKDAYS[parts.weekDay] ?? "",
    offset: DateTime.formatIsoOffset(zoned).slice(-6)
  }
}

/** One line for a model: the user's date, time and zone, and how to write dues in it. */
export const describeLocalNow = (now: LocalNow): string => {
  const wall = wallClock(now)
  const time = `${String(wall.hour).padStart(2, "0")}:${String(wall.minute).padStart(2, "0")}`
  return [
    `The user's local date and time is ${wall.weekdayName} ${wall.date} ${time} in ${now.timeZone} (UTC${wall.offset}); their week starts on ${now.weekStart}.`,
    `Resolve relative dates (today, tomorrow, next Friday) in that zone. Write a due as a date (${wall.date}) or as a local date-time with the zone (${wall.date}T17:00[${now.timeZone}]).`
  ].join(" ")
}
