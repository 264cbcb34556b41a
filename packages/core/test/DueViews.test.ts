/**
 * The calendar arithmetic behind the due views, table-driven over five zones at day, month,
 * year and DST boundaries: which date "today" is, where the user's day starts and ends, and
 * the windows of today, overdue and upcoming.
 */
import { describe, expect, it } from "@effect/vitest"
import { addDays, dueWindow, isMomentText, localDate, momentMillis, startOfDate } from "@taskport/core"
import { DateTime } from "effect"

const zone = (name: string) => DateTime.zoneMakeNamedUnsafe(name)
const at = (iso: string) => Date.parse(iso)
const iso = (millis: number | undefined) =>
  millis === undefined ? undefined : new Date(millis).toISOString()

// now, zone, the user's date, and where that day begins and ends (UTC)
const days: ReadonlyArray<readonly [string, string, string, string, string, string]> = [
  [
    "year end",
    "UTC",
    "2026-12-31T23:30:00Z",
    "2026-12-31",
    "2026-12-31T00:00:00.000Z",
    "2027-01-01T00:00:00.000Z"
  ],
  [
    "spring forward (23 h)",
    "America/Los_Angeles",
    "2026-03-08T12:00:00Z",
    "2026-03-08",
    "2026-03-08T08:00:00.000Z",
    "2026-03-09T07:00:00.000Z"
  ],
  [
    "fall back (25 h)",
    "America/Los_Angeles",
    "2026-11-01T12:00:00Z",
    "2026-11-01",
    "2026-11-01T07:00:00.000Z",
    "2026-11-02T08:00:00.000Z"
  ],
  [
    "evening, still yesterday in LA",
    "America/Los_Angeles",
    "2026-12-02T06:00:00Z",
    "2026-12-01",
    "2026-12-01T08:00:00.000Z",
    "2026-12-02T08:00:00.000Z"
  ],
  [
    "spring forward",
    "Europe/Paris",
    "2026-03-29T10:00:00Z",
    "2026-03-29",
    "2026-03-28T23:00:00.000Z",
    "2026-03-29T22:00:00.000Z"
  ],
  [
    "fall back",
    "Europe/Paris",
    "2026-10-25T10:00:00Z",
    "2026-10-25",
    "2026-10-24T22:00:00.000Z",
    "2026-10-25T23:00:00.000Z"
  ],
  [
    "month boundary, half-hour offset",
    "Asia/Kolkata",
    "2026-01-31T19:00:00Z",
    "2026-02-01",
    "2026-01-31T18:30:00.000Z",
    "2026-02-01T18:30:00.000Z"
  ],
  [
    "leap day",
    "Asia/Kolkata",
    "2028-02-29T12:00:00Z",
    "2028-02-29",
    "2028-02-28T18:30:00.000Z",
    "2028-02-29T18:30:00.000Z"
  ],
  [
    "new year first",
    "Pacific/Auckland",
    "2026-12-31T11:00:00Z",
    "2027-01-01",
    "2026-12-31T11:00:00.000Z",
    "2027-01-01T11:00:00.000Z"
  ],
  [
    "spring forward (southern)",
    "Pacific/Auckland",
    "2026-09-26T20:00:00Z",
    "2026-09-27",
    "2026-09-26T12:00:00.000Z",
    "2026-09-27T11:00:00.000Z"
  ],
  [
    "fall back (southern)",
    "Pacific/Auckland",
    "2026-04-05T03:00:00Z",
    "2026-04-05",
    "2026-04-04T11:00:00.000Z",
    "2026-04-05T12:00:00.000Z"
  ],
  [
    "midnight skipped by DST",
    "America/Sao_Paulo",
    "2018-11-04T12:00:00Z",
    "2018-11-04",
    "2018-11-04T03:00:00.000Z",
    "2018-11-05T02:00:00.000Z"
  ]
]

describe("due views in the user's zone", () => {
  it.each(days)("T4: %s in %s: today, its start and its end", (_label, name, now, date, start, end) => {
    const z = zone(name)
    expect(localDate(at(now), z)).toBe(date)
    expect(iso(startOfDate(date, z))).toBe(start)
    expect(iso(startOfDate(addDays(date, 1), z))).toBe(end)
    expect(dueWindow("today", at(now), z)).toEqual({
      fromDate: date,
      toDate: addDays(date, 1),
      fromMillis: at(start),
      toMillis: at(end)
    })
  })

  it.each(days)("T4: %s in %s: overdue ends now; upcoming is the days after today", (_l, name, now, date) => {
    const z = zone(name)
    expect(dueWindow("overdue", at(now), z)).toEqual({ toDate: date, toMillis: at(now), openOnly: true })
    const upcoming = dueWindow("upcoming", at(now), z)
    expect(upcoming.fromDate).toBe(addDays(date, 1))
    expect(upcoming.toDate).toBe(addDays(date, 8))
    expect(upcoming.fromMillis).toBe(startOfDate(addDays(date, 1), z))
    expect(dueWindow("upcoming", at(now), z, 1).toDate).toBe(addDays(date, 2))
  })

  it("T4: calendar arithmetic crosses month, year and leap days", () => {
    expect(addDays("2026-01-31", 1)).toBe("2026-02-01")
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01")
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29")
    expect(addDays("2027-02-28", 1)).toBe("2027-03-01")
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28")
  })

  it("T6: a moment is a date (its start in the user's zone) or a date-time with an offset", () => {
    expect(isMomentText("2026-12-01")).toBe(true)
    expect(isMomentText("2026-12-01T09:00:00Z")).toBe(true)
    expect(isMomentText("2026-12-01T09:00+05:30")).toBe(true)
    expect(isMomentText("2026-02-30")).toBe(false)
    expect(isMomentText("2026-12-01T09:00")).toBe(false)
    expect(isMomentText("yesterday")).toBe(false)
    expect(iso(momentMillis("2026-12-01", zone("Asia/Kolkata")))).toBe("2026-11-30T18:30:00.000Z")
    expect(iso(momentMillis("2026-12-01T09:00+05:30", zone("UTC")))).toBe("2026-12-01T03:30:00.000Z")
  })
})
