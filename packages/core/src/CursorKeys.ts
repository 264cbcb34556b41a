/**
 * What a listing cursor may carry. A cursor is client-held text, so every value inside is
 * checked here against what the listing itself hands out before it can reach a SQL cast:
 * the ISO instants the repositories render, the priority ranks, task ids in range, UUIDs,
 * text that can be stored. A cursor that fails is refused as not issued by the listing.
 *
 * Cursors are not signed: a cursor only names a position among the caller's own rows (every
 * listing is filtered by owner), so a forged but well-formed one can move a caller within
 * their own data and nowhere else; no key has to be shared between instances.
 */
import { Schema } from "effect"
import { MAX_TASK_ID, PriorityRank } from "./Task.ts"

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const RANKS = new Set(Object.values(PriorityRank))
const MAX_TEXT_KEY = 1000

/** `2026-11-23T08:05:34.123Z` naming a real instant (no 13th month, no 25th hour). */
export const isIsoInstant = (value: unknown): value is string => {
  if (typeof value !== "string" || !ISO_INSTANT.test(value)) return false
  const millis = Date.parse(value)
  return Number.isFinite(millis) && new Date(millis).toISOString() === value
}

export const isUuid = (value: unknown): value is string => typeof value === "string" && UUID.test(value)

export const isTaskIdKey = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_TASK_ID

const isStorableKey = (value: unknown): value is string =>
  typeof value === "string" &&
  value.length <= MAX_TEXT_KEY &&
  !value.includes("\u0000") &&
  !UNPAIRED_SURROGATE.test(value)

/** Whether `key` is a sort key the task listing hands out for `sort`. */
export const isTaskSortKey = (sort: string, key: unknown): boolean => {
  switch (sort) {
    case "created_at":
    case "updated_at":
      return isIsoInstant(key)
    case "due":
      // Tasks without a due date sort last, under the key `infinity`.
      return key === "infinity" || isIsoInstant(key)
    case "priority":
      return typeof key === "number" && RANKS.has(key)
    case "title":
      return isStorableKey(key)
    default:
      return false
  }
}

/** A conversation listing position: the last conversation's activity instant and id. */
export const ConversationPosition = Schema.Struct({
  u: Schema.String.check(Schema.makeFilter(isIsoInstant, { message: "is not an instant" })),
  i: Schema.String.check(Schema.makeFilter(isUuid, { message: "is not a conversation id" }))
})

/** A message listing position: the last message's id, a 32-bit identity. */
export const MessagePosition = Schema.Struct({
  m: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_TASK_ID }))
})
