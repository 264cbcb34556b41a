/**
 * Recurrence rules: the accepted RRULE subset and its stored form, and next occurrences,
 * table-driven in five zones at day, month, year and DST boundaries. Zoned dues keep their
 * wall-clock time across DST; date-only dues recur as calendar dates, and "ahead" is judged
 * by the user's today.
 */
import { describe, expect, it } from "@effect/vitest"
import { nextOccurrence, parseDue, Recurrence } from "@taskport/core"
import { Option, Schema } from "effect"

const zoned = (text: string) => Option.getOrThrow(parseDue(text)).text
const instant = (text: string) => Option.getOrThrow(parseDue(text)).epochMillis
const decode = Schema.decodeUnknownOption(Recurrence)

describe("recurrence rules", () => {
  it.each([
    ["FREQ=DAILY", "FREQ=DAILY"],
    ["rrule:freq=weekly;byday=mo,we,fr;interval=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR"],
    ["FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"],
    ["FREQ=MONTHLY;BYMONTHDAY=1;COUNT=12", "FREQ=MONTHLY;BYMONTHDAY=1;COUNT=12"],
    ["FREQ=YEARLY;BYMONTHDAY=25;BYMONTH=12", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"],
    ["FREQ=DAILY;UNTIL=20261231;INTERVAL=1", "FREQ=DAILY;UNTIL=20261231"]
  ])("T10: %s is stored as %s", (input, stored) => {
    expect(decode(input)).toEqual(Option.some(stored))
  })

  it.each([
    "FREQ=HOURLY",
    "FREQ=DAILY;BYSETPOS=1",
    "FREQ=DAILY;COUNT=3;UNTIL=20261231",
    "FREQ=MONTHLY;BYDAY=FR",
    "FREQ=MONTHLY;BYDAY=1MO,3MO",
    "FREQ=WEEKLY;BYDAY=1MO",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;UNTIL=20260230",
    "FREQ=YEARLY;BYDAY=MO",
    "every monday",
    ""
  ])("T10: %s is outside the subset", (input) => {
    expect(Option.isNone(decode(input))).toBe(true)
  })
})

// due, rule, the user's today, now, the expected next due and rule (null: the series ended)
const cases: ReadonlyArray<
  readonly [string, string, string, string, string, readonly [string, string] | null]
> = [
  [
    "Monday 09:00 in Paris across spring forward",
    zoned("2026-03-23T09:00[Europe/Paris]"),
    "FREQ=WEEKLY;BYDAY=MO",
    "2026-03-23",
    "2026-03-23T09:00[Europe/Paris]",
    [zoned("2026-03-30T09:00[Europe/Paris]"), "FREQ=WEEKLY;BYDAY=MO"]
  ],
  [
    "Monday 09:00 in Paris across fall back",
    zoned("2026-10-19T09:00[Europe/Paris]"),
    "FREQ=WEEKLY;BYDAY=MO",
    "2026-10-19",
    "2026-10-19T09:00[Europe/Paris]",
    [zoned("2026-10-26T09:00[Europe/Paris]"), "FREQ=WEEKLY;BYDAY=MO"]
  ],
  [
    "daily 08:00 in Los Angeles across fall back",
    zoned("2026-10-31T08:00[America/Los_Angeles]"),
    "FREQ=DAILY",
    "2026-10-31",
    "2026-10-31T08:00[America/Los_Angeles]",
    [zoned("2026-11-01T08:00[America/Los_Angeles]"), "FREQ=DAILY"]
  ],
  [
    "Sunday 09:00 in Auckland across spring forward",
    zoned("2026-09-20T09:00[Pacific/Auckland]"),
    "FREQ=WEEKLY;BYDAY=SU",
    "2026-09-20",
    "2026-09-20T09:00[Pacific/Auckland]",
    [zoned("2026-09-27T09:00[Pacific/Auckland]"), "FREQ=WEEKLY;BYDAY=SU"]
  ],
  [
    "last Friday of the month, date-only, in Kolkata",
    "2026-01-30",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "2026-01-30",
    "2026-01-30T12:00[Asia/Kolkata]",
    ["2026-02-27", "FREQ=MONTHLY;BYDAY=-1FR"]
  ],
  [
    "the 1st of every month across the year end",
    "2026-12-01",
    "FREQ=MONTHLY;BYMONTHDAY=1",
    "2026-12-01",
    "2026-12-01T12:00[UTC]",
    ["2027-01-01", "FREQ=MONTHLY;BYMONTHDAY=1"]
  ],
  [
    "the last day of the month",
    "2026-01-31",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "2026-01-31",
    "2026-01-31T12:00[UTC]",
    ["2026-02-28", "FREQ=MONTHLY;BYMONTHDAY=-1"]
  ],
  [
    "the 31st skips shorter months",
    "2026-01-31",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "2026-01-31",
    "2026-01-31T12:00[UTC]",
    ["2026-03-31", "FREQ=MONTHLY;BYMONTHDAY=31"]
  ],
  [
    "yearly on a leap day",
    "2028-02-29",
    "FREQ=YEARLY",
    "2028-02-29",
    "2028-02-29T12:00[UTC]",
    ["2032-02-29", "FREQ=YEARLY"]
  ],
  [
    "every other week on Monday and Wednesday",
    "2026-03-25",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
    "2026-03-25",
    "2026-03-25T12:00[UTC]",
    ["2026-04-06", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE"]
  ],
  [
    "a count shrinks",
    "2026-06-01",
    "FREQ=DAILY;COUNT=3",
    "2026-06-01",
    "2026-06-01T12:00[UTC]",
    ["2026-06-02", "FREQ=DAILY;COUNT=2"]
  ],
  [
    "the last of a count ends the series",
    "2026-06-01",
    "FREQ=DAILY;COUNT=1",
    "2026-06-01",
    "2026-06-01T12:00[UTC]",
    null
  ],
  [
    "until is inclusive",
    "2026-12-30",
    "FREQ=DAILY;UNTIL=20261231",
    "2026-12-30",
    "2026-12-30T12:00[UTC]",
    ["2026-12-31", "FREQ=DAILY;UNTIL=20261231"]
  ],
  [
    "past until the series ends",
    "2026-12-31",
    "FREQ=DAILY;UNTIL=20261231",
    "2026-12-31",
    "2026-12-31T12:00[UTC]",
    null
  ],
  [
    "days overdue: the next one still ahead, occurrences used up counted",
    "2026-12-01",
    "FREQ=DAILY;COUNT=10",
    "2026-12-05",
    "2026-12-05T12:00[UTC]",
    ["2026-12-06", "FREQ=DAILY;COUNT=5"]
  ],
  [
    "date-only: still Dec 1 in Los Angeles",
    "2026-12-01",
    "FREQ=DAILY",
    "2026-12-01",
    "2026-12-02T06:00[UTC]",
    ["2026-12-02", "FREQ=DAILY"]
  ],
  [
    "date-only: already Dec 2 in UTC",
    "2026-12-01",
    "FREQ=DAILY",
    "2026-12-02",
    "2026-12-02T06:00[UTC]",
    ["2026-12-03", "FREQ=DAILY"]
  ],
  [
    "zoned, overdue by a week: next ahead of now, same wall time",
    zoned("2026-03-16T09:00[Europe/Paris]"),
    "FREQ=WEEKLY;BYDAY=MO",
    "2026-03-24",
    "2026-03-24T10:00[Europe/Paris]",
    [zoned("2026-03-30T09:00[Europe/Paris]"), "FREQ=WEEKLY;BYDAY=MO"]
  ]
]

describe("next occurrences", () => {
  it.each(cases)("T11: %s", (_label, due, rule, today, now, expected) => {
    const next = nextOccurrence(due, rule, today, instant(now))
    expect(Option.getOrNull(next)).toEqual(
      expected === null ? null : { due: expected[0], recurrence: expected[1] }
    )
  })

  it("T11: the wall-clock time stays while the offset follows DST", () => {
    const before = zoned("2026-03-23T09:00[Europe/Paris]")
    const after = Option.getOrThrow(
      nextOccurrence(before, "FREQ=WEEKLY;BYDAY=MO", "2026-03-23", instant(before))
    )
    expect(before).toContain("T09:00:00.000+01:00[Europe/Paris]")
    expect(after.due).toContain("T09:00:00.000+02:00[Europe/Paris]")
    expect(instant(after.due) - instant(before)).toBe((7 * 24 - 1) * 3_600_000)
  })
})
