/**
 * The task field rules as every surface sees them: the operation parameter schemas decode
 * (and normalise) client input, and each rejection names the field it is about.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  CompleteTaskParams,
  CreateTaskParams,
  ListTasksParams,
  parseDue,
  ReplaceTaskParams,
  TaskRef,
  UpdateTaskParams
} from "@taskport/core"
import { Cause, Exit, Option, Schema } from "effect"

const create = Schema.decodeUnknownSync(CreateTaskParams)

/** The message of the decoding failure, or a test failure when the input was accepted. */
const rejection = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, input: unknown): string => {
  const exit = Schema.decodeUnknownExit(schema)(input)
  if (Exit.isSuccess(exit)) throw new Error(`expected ${JSON.stringify(input)} to be rejected`)
  const error = Option.getOrThrow(Cause.findErrorOption(exit.cause))
  expect(Schema.isSchemaError(error)).toBe(true)
  return error.message
}

const rejectsCreate = (input: Record<string, unknown>) =>
  rejection(CreateTaskParams, { title: "t", ...input })

describe("task fields", () => {
  describe("title", () => {
    it("R1: surrounding spaces are removed", () => {
      expect(create({ title: "  Buy milk \n" }).title).toBe("Buy milk")
    })

    it("R1 R12: NUL characters and unpaired surrogates are refused at the field they are in", () => {
      expect(rejection(CreateTaskParams, { title: "a\u0000b" })).toContain('["title"]')
      expect(rejection(CreateTaskParams, { title: "a\uD800" })).toContain(
        "without NUL characters or unpaired surrogates"
      )
      expect(rejection(CreateTaskParams, { title: "t", description: "\uDC00x" })).toContain('["description"]')
      expect(rejection(CreateTaskParams, { title: "t", tags: ["\u0000"] })).toContain('["tags"][0]')
      expect(rejection(ListTasksParams, { query: "\u0000" })).toContain('["query"]')
      expect(Schema.decodeUnknownSync(CreateTaskParams)({ title: "🧪 ok" }).title).toBe("🧪 ok")
    })

    it('R1 R12: a blank or empty title is rejected at ["title"]', () => {
      for (const title of ["", "   ", "\t\n"]) {
        expect(rejection(CreateTaskParams, { title })).toContain('["title"]')
      }
      expect(rejection(CreateTaskParams, { title: "   " })).toContain("must not be blank")
    })

    it("R1 R12: 200 characters are accepted, 201 are not", () => {
      expect(create({ title: "a".repeat(200) }).title).toHaveLength(200)
      const message = rejection(CreateTaskParams, { title: "a".repeat(201) })
      expect(message).toContain("200")
      expect(message).toContain('["title"]')
    })

    it('R12: a missing title is reported at ["title"]', () => {
      expect(rejection(CreateTaskParams, {})).toContain('["title"]')
      expect(rejection(CreateTaskParams, { title: 42 })).toContain('["title"]')
    })
  })

  describe("description", () => {
    it("R1: up to 2000 characters, or null", () => {
      expect(create({ title: "t", description: "d".repeat(2000) }).description).toHaveLength(2000)
      expect(create({ title: "t", description: null }).description).toBeNull()
      const message = rejectsCreate({ description: "d".repeat(2001) })
      expect(message).toContain("2000")
      expect(message).toContain('["description"]')
    })
  })

  describe("priority", () => {
    it("R1: low, medium and high are the only values", () => {
      for (const priority of ["low", "medium", "high"]) {
        expect(create({ title: "t", priority }).priority).toBe(priority)
      }
      for (const priority of ["urgent", "HIGH", "", 2]) {
        expect(rejectsCreate({ priority })).toContain('["priority"]')
      }
    })
  })

  describe("due", () => {
    const dueOf = (due: string) => create({ title: "t", due }).due

    it("R1: a calendar date is kept as it is", () => {
      expect(dueOf("2026-12-01")).toBe("2026-12-01")
      expect(dueOf("2028-02-29")).toBe("2028-02-29")
    })

    it("R1: a wall-clock time with an IANA zone is normalised to the full RFC 9557 form", () => {
      expect(dueOf("2026-12-01T09:00[Europe/Paris]")).toBe("2026-12-01T09:00:00.000+01:00[Europe/Paris]")
      // The offset follows the zone's rules on that date (summer time here).
      expect(dueOf("2026-07-01T09:00[Europe/Paris]")).toBe("2026-07-01T09:00:00.000+02:00[Europe/Paris]")
      expect(dueOf("2026-12-01T09:00:30.5[Asia/Tokyo]")).toBe("2026-12-01T09:00:30.500+09:00[Asia/Tokyo]")
    })

    it("R1: an explicit offset together with the zone is accepted", () => {
      expect(dueOf("2026-12-01T09:00+01:00[Europe/Paris]")).toBe(
        "2026-12-01T09:00:00.000+01:00[Europe/Paris]"
      )
      expect(dueOf("2026-12-01T09:00:00.000+01:00[Europe/Paris]")).toBe(
        "2026-12-01T09:00:00.000+01:00[Europe/Paris]"
      )
    })

    it('R1 R12: impossible dates, zone-less times and unknown zones are rejected at ["due"]', () => {
      for (const due of [
        "2026-02-30",
        "2027-02-29",
        "2026-13-01",
        "2026-12-01T09:00Z",
        "2026-12-01T09:00",
        "2026-12-01T09:00+01:00",
        "2026-12-01T09:00[Mars/Base]",
        "2026-12-01T24:00[Europe/Paris]",
        // An offset that is not the zone's own at that moment contradicts itself.
        "2026-12-01T09:00+05:00[Europe/Paris]",
        "tomorrow",
        ""
      ]) {
        const message = rejectsCreate({ due })
        expect(message, due).toContain('["due"]')
        expect(message, due).toContain("IANA time zone")
      }
    })

    it("R1: a date is ordered as midnight UTC and a zoned time as its instant", () => {
      expect(Option.map(parseDue("2026-12-01"), (due) => due.epochMillis)).toEqual(
        Option.some(Date.UTC(2026, 11, 1))
      )
      expect(Option.map(parseDue("2026-12-01T09:00[Europe/Paris]"), (due) => due.epochMillis)).toEqual(
        Option.some(Date.UTC(2026, 11, 1, 8))
      )
    })
  })

  describe("tags", () => {
    it("R1: tags are trimmed, lower-cased and de-duplicated in first-seen order", () => {
      expect(create({ title: "t", tags: [" Home ", "WORK", "home", "Work ", "errands"] }).tags).toEqual([
        "home",
        "work",
        "errands"
      ])
    })

    it("R1 R12: at most 20 tags", () => {
      const twenty = Array.from({ length: 20 }, (_, i) => `t${i}`)
      expect(create({ title: "t", tags: twenty }).tags).toHaveLength(20)
      expect(rejectsCreate({ tags: [...twenty, "one-more"] })).toContain('["tags"]')
    })

    it("R1 R12: each tag is 1 to 32 characters and not blank, reported at its index", () => {
      expect(create({ title: "t", tags: ["x".repeat(32)] }).tags).toEqual(["x".repeat(32)])
      expect(rejectsCreate({ tags: ["ok", "x".repeat(33)] })).toContain('["tags"][1]')
      expect(rejectsCreate({ tags: ["   "] })).toContain('["tags"][0]')
      expect(rejectsCreate({ tags: [""] })).toContain('["tags"][0]')
    })
  })
})

describe("operation parameters", () => {
  it('R12: ids are positive integers, reported at ["id"]', () => {
    for (const schema of [TaskRef, CompleteTaskParams, UpdateTaskParams]) {
      for (const id of [0, -1, 1.5, "1", null]) {
        expect(rejection(schema, { id })).toContain('["id"]')
      }
    }
  })

  it('R4: update fields are all optional; null and "" are both accepted for description', () => {
    const update = Schema.decodeUnknownSync(UpdateTaskParams)
    expect(update({ id: 1 })).toEqual({ id: 1 })
    expect(update({ id: 1, description: null, due: null })).toEqual({ id: 1, description: null, due: null })
    // An empty description is the same as none, wherever it comes from.
    expect(update({ id: 1, description: "" })).toEqual({ id: 1, description: null })
    // Keys a strict-mode client sends as null are treated as not given; due and description keep null as "clear".
    expect(update({ id: 1, title: null, priority: null, tags: null, expected_version: null })).toEqual({
      id: 1
    })
    expect(rejection(UpdateTaskParams, { id: 1, expected_version: 0 })).toContain('["expected_version"]')
  })

  it("R11 R12: a page size is an integer from 1 to 100", () => {
    const list = Schema.decodeUnknownSync(ListTasksParams)
    expect(list({ limit: 1 }).limit).toBe(1)
    expect(list({ limit: 100 }).limit).toBe(100)
    for (const limit of [0, 101, 2.5, "10"]) {
      expect(rejection(ListTasksParams, { limit })).toContain('["limit"]')
    }
  })

  it("K2: defaults live in the schemas, for absent and null keys alike", () => {
    const create = Schema.decodeUnknownSync(CreateTaskParams)
    const defaults = {
      description: null,
      priority: "medium",
      due: null,
      tags: [],
      recurrence: null,
      reminder: null
    }
    expect(create({ title: "a" })).toEqual({ title: "a", ...defaults })
    expect(create({ title: "a", description: null, priority: null, due: null, tags: null })).toEqual({
      title: "a",
      ...defaults
    })
    expect(create({ title: " a ", description: "", tags: ["X", "x"] })).toEqual({
      ...defaults,
      title: "a",
      tags: ["x"]
    })
    expect(Schema.decodeUnknownSync(CompleteTaskParams)({ id: 3 })).toEqual({ id: 3, completed: true })
    expect(Schema.decodeUnknownSync(CompleteTaskParams)({ id: 3, completed: null })).toEqual({
      id: 3,
      completed: true
    })
    // A replacement resets what it leaves out to the same defaults.
    expect(Schema.decodeUnknownSync(ReplaceTaskParams)({ id: 3, title: "b" })).toEqual({
      id: 3,
      title: "b",
      ...defaults
    })
    expect(Schema.decodeUnknownSync(ListTasksParams)({})).toEqual({
      status: "all",
      sort: "created_at",
      limit: 50
    })
  })

  it("R9 R12: list filters are checked with the same field rules", () => {
    const list = Schema.decodeUnknownSync(ListTasksParams)
    expect(list({ tag: " Home ", due_before: "2026-12-01T09:00[Europe/Paris]" })).toEqual({
      status: "all",
      sort: "created_at",
      limit: 50,
      tag: "home",
      due_before: "2026-12-01T09:00:00.000+01:00[Europe/Paris]"
    })
    expect(rejection(ListTasksParams, { status: "done" })).toContain('["status"]')
    expect(rejection(ListTasksParams, { due_after: "2026-02-30" })).toContain('["due_after"]')
    expect(rejection(ListTasksParams, { sort: "random" })).toContain('["sort"]')
    expect(rejection(ListTasksParams, { order: "up" })).toContain('["order"]')
    expect(rejection(ListTasksParams, { query: "" })).toContain('["query"]')
  })
})
