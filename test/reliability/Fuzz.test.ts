/**
 * Generated junk and near-valid input against every REST route and every MCP tool: wrong
 * types, huge and unicode-edge strings, nulls, out-of-range numbers, extra fields, broken
 * JSON, odd headers, cursors of the right shape with junk inside, aliases of a real id. Invariants: never a 5xx, never a stack frame, SQL text, file path or
 * secret in an answer, the app keeps answering, and a rejected request writes nothing.
 * The seed is printed; FUZZ_SEED=<n> replays a run.
 */
import { describe, expect, layer } from "@effect/vitest"
import { McpHttp } from "@taskport/mcp"
import { connect } from "@taskport/test-support/McpHarness"
import { makeApp, send, servicesLayer, TEST_SECRET, tokenFor } from "@taskport/test-support/RestHarness"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import fc from "fast-check"

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647)
const REST_RUNS = 7_000
const MCP_RUNS = 3_000

const LEAKS: ReadonlyArray<readonly [string, RegExp]> = [
  ["stack frame", /\n\s+at \S|\bat [^\s]+ \([^)]*:\d+:\d+\)/],
  ["SQL text", /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[\s\S]{0,80}\b(FROM|VALUES|SET|WHERE)\b/i],
  ["file path", /(\/work\/|\/home\/|\/root\/|node_modules|\.ts:\d+)/],
  ["secret", new RegExp(Redacted.value(TEST_SECRET))]
]

const leakIn = (text: string): string | undefined => LEAKS.find(([, pattern]) => pattern.test(text))?.[0]

/** Strings that tend to break things: unicode edges, control characters, huge and tricky values. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "\uD800",
    "\uFFFF",
    "‮RTL",
    "🧪".repeat(60),
    "'; DROP TABLE tasks; --",
    "%00",
    "../../etc/passwd",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: junk input shaped like a lookup, not a template
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "NaN",
    "Infinity",
    "-0",
    "1e309",
    "9007199254740993",
    "x".repeat(5_000),
    "2026-02-30",
    "2026-12-01T09:00[Europe/Paris]",
    "2026-12-01T09:00+09:00[Europe/Paris]"
  )
)

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2),
  fc.boolean(),
  fc.constant(null),
  fc.array(nastyString, { maxLength: 25 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 3 })
)

const FIELDS = [
  "title",
  "description",
  "priority",
  "due",
  "tags",
  "completed",
  "expected_version",
  "id",
  "user_id",
  "version"
]

/** Objects shaped like real input, with some fields replaced by junk and some extra keys. */
const nearValidBody = fc
  .record({
    base: fc.constantFrom<Record<string, unknown>>(
      { title: "Buy milk" },
      { title: "t", priority: "high", tags: ["a"], due: "2026-12-01" },
      { completed: false },
      { description: null, due: null }
    ),
    overrides: fc.dictionary(fc.constantFrom(...FIELDS), nastyValue, { maxKeys: 3 }),
    extra: fc.dictionary(nastyString, nastyValue, { maxKeys: 2 })
  })
  .map(({ base, overrides, extra }) => ({ ...extra, ...base, ...overrides }))

const body = fc.oneof(
  nearValidBody.map((value) => JSON.stringify(value)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  nastyString,
  fc.constantFrom("{", "[]", "null", '{"title":', "\u0000", "")
)

/** Cursors of the listing's own shape whose values are junk: they must be refused before SQL. */
const shapedCursor = fc
  .record({
    s: fc.constantFrom("created_at", "updated_at", "due", "priority", "title", "x"),
    o: fc.constantFrom("asc", "desc"),
    k: nastyValue,
    i: fc.oneof(fc.integer(), fc.double(), nastyString)
  })
  .map((payload) => Buffer.from(JSON.stringify(payload)).toString("base64url"))

const queryString = fc
  .dictionary(
    fc.constantFrom(
      "status",
      "priority",
      "tag",
      "due_before",
      "due_after",
      "query",
      "sort",
      "order",
      "cursor",
      "limit",
      "x"
    ),
    fc.oneof(nastyString, fc.integer().map(String), shapedCursor),
    { maxKeys: 4 }
  )
  .map((entries) => new URLSearchParams(entries).toString())

/** Percent-encodes a path segment; a lone surrogate becomes invalid UTF-8, itself good junk. */
const encodeSegment = (segment: string) => {
  try {
    return encodeURIComponent(segment)
  } catch {
    return "%ED%A0%80"
  }
}

const pathId = fc.oneof(
  fc.constant("EXISTING"),
  fc.integer({ min: -5, max: 2 ** 40 }).map(String),
  nastyString.map(encodeSegment),
  fc.constantFrom("0", "1.5", "1e3", "0x10", "%2e%2e", "9".repeat(30), "EXISTING_ALIAS")
)

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/merge-patch+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  ""
)

/** Header values must be visible ASCII; everything else is dropped, the junk that stays is kept. */
const asHeaderValue = (text: string) =>
  [...text].filter((char) => (char.codePointAt(0) ?? 0) >= 0x20 && (char.codePointAt(0) ?? 0) < 0x7f).join("")

const headerJunk = fc.oneof(fc.constant(undefined), nastyString.map(asHeaderValue))

const restRequest = fc.record({
  route: fc.constantFrom(
    ["GET", "/api/v1/tasks"],
    ["POST", "/api/v1/tasks"],
    ["GET", "/api/v1/tasks/:id"],
    ["PUT", "/api/v1/tasks/:id"],
    ["PATCH", "/api/v1/tasks/:id"],
    ["DELETE", "/api/v1/tasks/:id"],
    ["POST", "/api/v1/tasks/:id/complete"],
    ["GET", "/api/USER/tasks"],
    ["PATCH", "/api/OTHER/tasks/:id"]
  ),
  id: pathId,
  query: queryString,
  body: fc.option(body, { nil: undefined }),
  contentType,
  ifMatch: headerJunk,
  ifNoneMatch: headerJunk,
  auth: fc.constantFrom("valid", "valid", "valid", "other", "junk", "none")
})

describe("fuzzing", () => {
  const database = testDatabases()[0]!
  layer(servicesLayer(database.layer()), { timeout: 300_000 })((it) => {
    it.effect(
      `Z1: ${REST_RUNS} generated REST requests (seed ${SEED}) never answer 5xx, leak nothing and write nothing when rejected`,
      () =>
        Effect.gen(function* () {
          const app = yield* makeApp()
          const sql = yield* SqlClient.SqlClient
          const user = `fuzz-${crypto.randomUUID()}`
          const token = yield* tokenFor(user)
          const otherToken = yield* tokenFor(`fuzz-other-${crypto.randomUUID()}`)
          const seeded = yield* send(app, "POST", "/api/v1/tasks", {
            token,
            body: { title: "seed", tags: ["a"] }
          })
          const existing = String((seeded.body as { id: number }).id)
          const fingerprint = () =>
            sql<{
              n: string
              v: string | null
              u: string | null
            }>`SELECT count(*)::text AS n, sum(version)::text AS v, max(updated_at)::text AS u FROM tasks`.pipe(
              Effect.map((rows) => JSON.stringify(rows[0])),
              Effect.orDie
            )
          const statuses = new Map<number, number>()
          console.info(`Z1: seed ${SEED}`)
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(restRequest, async (request) => {
                const [method, template] = request.route
                const path = template
                  .replace(
                    ":id",
                    request.id === "EXISTING"
                      ? existing
                      : request.id === "EXISTING_ALIAS"
                        ? `0${existing}`
                        : request.id
                  )
                  .replace("USER", encodeURIComponent(user))
                  .replace("OTHER", "someone-else")
                const headers: Record<string, string> = {}
                if (request.contentType !== "") headers["content-type"] = request.contentType
                if (request.ifMatch !== undefined) headers["if-match"] = request.ifMatch
                if (request.ifNoneMatch !== undefined) headers["if-none-match"] = request.ifNoneMatch
                if (request.auth === "junk") headers.authorization = "Bearer not.a.token"
                const chosen =
                  request.auth === "valid" ? token : request.auth === "other" ? otherToken : undefined
                const before = await Effect.runPromise(fingerprint())
                const reply = await Effect.runPromise(
                  send(app, method, `${path}${request.query === "" ? "" : `?${request.query}`}`, {
                    ...(chosen === undefined ? {} : { token: chosen }),
                    // fetch refuses bodies on GET; DELETE bodies are allowed and fuzzed too.
                    ...(request.body === undefined || method === "GET" ? {} : { body: request.body }),
                    headers
                  })
                )
                statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
                expect(reply.status, `${method} ${path}`).toBeLessThan(500)
                expect(leakIn(reply.text), reply.text.slice(0, 300)).toBeUndefined()
                if (reply.status >= 400) expect(await Effect.runPromise(fingerprint())).toBe(before)
              }),
              { numRuns: REST_RUNS, seed: SEED, endOnFailure: true }
            )
          )
          console.info(
            `Z1: ${REST_RUNS} REST inputs, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`
          )
          // Still answering normally after the onslaught.
          const health = yield* send(app, "GET", "/api/v1/tasks", { token })
          expect(health.status).toBe(200)
        }),
      // A bound for a slow machine, not a speed target.
      600_000
    )

    it.effect(
      `Z2: ${MCP_RUNS} generated MCP tool calls (seed ${SEED}) never fail the protocol, leak nothing and write nothing when refused`,
      () =>
        Effect.gen(function* () {
          const handler = yield* McpHttp.make({})
          const sql = yield* SqlClient.SqlClient
          const token = yield* tokenFor(`fuzz-mcp-${crypto.randomUUID()}`)
          const client = yield* connect(handler, token, "modern")
          const fingerprint = () =>
            sql<{
              n: string
              v: string | null
            }>`SELECT count(*)::text AS n, sum(version)::text AS v FROM tasks`.pipe(
              Effect.map((rows) => JSON.stringify(rows[0])),
              Effect.orDie
            )
          let refused = 0
          const toolCall = fc.record({
            name: fc.constantFrom(
              "todo_create",
              "todo_read",
              "todo_update",
              "todo_delete",
              "todo_list",
              "todo_complete"
            ),
            args: fc.oneof(
              nearValidBody,
              fc.dictionary(fc.constantFrom(...FIELDS, "limit", "cursor", "status", "sort"), nastyValue, {
                maxKeys: 4
              })
            )
          })
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(toolCall, async ({ name, args }) => {
                const before = await Effect.runPromise(fingerprint())
                const result = (await client.callTool({
                  name,
                  arguments: args as Record<string, unknown>
                })) as {
                  isError?: boolean
                  content: Array<{ text?: string }>
                }
                const text = result.content.map((block) => block.text ?? "").join("\n")
                expect(leakIn(text), text.slice(0, 300)).toBeUndefined()
                if (result.isError === true) {
                  refused++
                  expect(await Effect.runPromise(fingerprint())).toBe(before)
                }
              }),
              { numRuns: MCP_RUNS, seed: SEED, endOnFailure: true }
            )
          )
          console.info(
            `Z2: ${MCP_RUNS} MCP tool calls, ${refused} refused as isError, none failed the protocol`
          )
        }).pipe(Effect.scoped),
      // A bound for a slow machine, not a speed target.
      600_000
    )
  })
})
