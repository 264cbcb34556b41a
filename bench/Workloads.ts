/**
 * The workload table: what each measured request is, how its ceiling statement is obtained
 * from the repository, and the slots for workloads that cannot be measured yet. A slot stays
 * in the table and in the report, marked pending with its reason, so a missing figure is
 * visible and never filled with a made-up one.
 */
import type { NewTask, TaskId, TaskQuery, TaskRepository } from "@taskport/core"
import type { Effect } from "effect"
import { type CapturedStatement, capture, SENTINEL, type Target } from "./Ceiling.ts"
import type { LoadRequest } from "./Load.ts"

export interface BenchUser {
  readonly id: string
  readonly token: string
  readonly taskIds: ReadonlyArray<number>
}

export interface MeasuredWorkload {
  readonly kind: "measured"
  readonly name: string
  readonly description: string
  /** What each request is aimed at: a user, or one of the user's tasks. */
  readonly targets: (users: ReadonlyArray<BenchUser>) => ReadonlyArray<Target>
  readonly request: (target: Target, user: BenchUser, index: number) => LoadRequest
  /** Checks one response before the run: the expected status and a shape check on the body. */
  readonly expect: { readonly status: number; readonly body: (body: string) => boolean }
  /** Refuses a 2xx response that is a failure in disguise (MCP tool errors answer 200). */
  readonly accept?: ((body: string) => boolean) | undefined
  /** The repository call whose statement is this workload's ceiling. */
  readonly ceiling: (repository: TaskRepository["Service"]) => Effect.Effect<unknown, unknown>
  /** Adds rows, which are removed after each run so every run sees the same tables. */
  readonly creates: boolean
}

export interface PendingWorkload {
  readonly kind: "pending"
  readonly name: string
  readonly description: string
  readonly reason: string
}

export type Workload = MeasuredWorkload | PendingWorkload

const owner = SENTINEL.owner
const sentinelId = SENTINEL.id as TaskId

const bearer = (user: BenchUser) => ({ authorization: `Bearer ${user.token}` })
const json = { "content-type": "application/json" }

/** The query `TodoService.list` builds for a listing with no parameters but `limit`. */
export const firstPage = (limit: number): TaskQuery => ({
  status: "all",
  sort: "created_at",
  order: "desc",
  limit
})

/** REST's default page size and the one the MCP surface uses when the caller names none. */
const REST_PAGE = 50
const MCP_PAGE = 20

export const CREATE_BODY = { title: "Benchmark task", priority: "high", tags: ["bench"] } as const
/** The task `TodoService.create` hands the repository for `CREATE_BODY`. */
const createdTask: NewTask = {
  title: CREATE_BODY.title,
  description: null,
  priority: CREATE_BODY.priority,
  due: null,
  tags: [...CREATE_BODY.tags]
}

const RENAMED = "Renamed by the benchmark"

const MODERN_REVISION = "2026-07-28"
const LEGACY_REVISION = "2025-11-25"

const mcpToolCall = (era: "modern" | "legacy", index: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: index,
    method: "tools/call",
    params: {
      name: "todo_list",
      arguments: {},
      // The 2026-07-28 revision carries the protocol version and client in every request,
      // so no initialize round trip is needed; 2025-era clients get the stateless fallback.
      ...(era === "modern"
        ? {
            _meta: {
              "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
              "io.modelcontextprotocol/clientInfo": { name: "taskport-bench", version: "1.0.0" },
              "io.modelcontextprotocol/clientCapabilities": {}
            }
          }
        : {})
    }
  })

const mcpHeaders = (era: "modern" | "legacy") =>
  era === "modern"
    ? { "mcp-method": "tools/call", "mcp-name": "todo_list", "mcp-protocol-version": MODERN_REVISION }
    : { "mcp-protocol-version": LEGACY_REVISION }

/** A page of `expected` items in a JSON body, REST's or inside an MCP result. */
const holdsItems = (body: string, expected: number) => {
  const start = body.indexOf("{")
  if (start < 0) return false
  try {
    const value = JSON.parse(body.slice(start)) as {
      items?: unknown
      result?: { structuredContent?: { items?: unknown }; isError?: boolean }
    }
    const items = value.items ?? value.result?.structuredContent?.items
    return Array.isArray(items) && items.length === expected && value.result?.isError !== true
  } catch {
    return false
  }
}

const perUser = (users: ReadonlyArray<BenchUser>): ReadonlyArray<Target> =>
  users.map((u) => ({ owner: u.id }))
const perTask = (users: ReadonlyArray<BenchUser>): ReadonlyArray<Target> =>
  users.flatMap((u) => u.taskIds.map((id) => ({ owner: u.id, id })))

const mcpList = (era: "modern" | "legacy"): MeasuredWorkload => ({
  kind: "measured",
  name: era === "modern" ? "mcp todo_list" : "mcp todo_list (2025)",
  description:
    era === "modern"
      ? `MCP tools/call todo_list over HTTP, one stateless ${MODERN_REVISION} request (JSON answer, ${MCP_PAGE} tasks)`
      : `MCP tools/call todo_list over HTTP in the 2025-era stateless shape, no initialize (SSE answer, ${MCP_PAGE} tasks)`,
  targets: perUser,
  request: (_target, user, index) => ({
    method: "POST",
    path: "/mcp",
    headers: { ...bearer(user), ...json, accept: "application/json, text/event-stream", ...mcpHeaders(era) },
    body: mcpToolCall(era, index)
  }),
  expect: { status: 200, body: (body) => holdsItems(body, MCP_PAGE) },
  // A tool failure still answers HTTP 200; only a result with structured content is a success.
  accept: (body) => body.includes('"structuredContent"') && !body.includes('"isError":true'),
  ceiling: (repository) => repository.list(owner, firstPage(MCP_PAGE)),
  creates: false
})

export const workloads: ReadonlyArray<Workload> = [
  {
    kind: "measured",
    name: "list",
    description: `GET /api/v1/tasks: the first page of a user's ${MCP_PAGE} tasks`,
    targets: perUser,
    request: (_target, user) => ({ method: "GET", path: "/api/v1/tasks", headers: bearer(user) }),
    expect: { status: 200, body: (body) => holdsItems(body, MCP_PAGE) },
    ceiling: (repository) => repository.list(owner, firstPage(REST_PAGE)),
    creates: false
  },
  {
    kind: "measured",
    name: "read",
    description: "GET /api/v1/tasks/{id}: one of the user's tasks",
    targets: perTask,
    request: (target, user) => ({ method: "GET", path: `/api/v1/tasks/${target.id}`, headers: bearer(user) }),
    expect: { status: 200, body: (body) => body.includes('"version"') },
    ceiling: (repository) => repository.find(owner, sentinelId),
    creates: false
  },
  {
    kind: "measured",
    name: "create",
    description: "POST /api/v1/tasks: a task with a title, a priority and a tag",
    targets: perUser,
    request: (_target, user) => ({
      method: "POST",
      path: "/api/v1/tasks",
      headers: { ...bearer(user), ...json },
      body: JSON.stringify(CREATE_BODY)
    }),
    expect: { status: 201, body: (body) => body.includes('"version":1') },
    ceiling: (repository) => repository.insert(owner, createdTask),
    creates: true
  },
  {
    kind: "measured",
    name: "update",
    description: "PATCH /api/v1/tasks/{id}: rename one of the user's tasks",
    targets: perTask,
    request: (target, user) => ({
      method: "PATCH",
      path: `/api/v1/tasks/${target.id}`,
      headers: { ...bearer(user), ...json },
      body: JSON.stringify({ title: RENAMED })
    }),
    expect: { status: 200, body: (body) => body.includes(RENAMED) },
    ceiling: (repository) => repository.update(owner, sentinelId, { title: RENAMED }, undefined),
    creates: false
  },
  mcpList("modern"),
  mcpList("legacy"),
  {
    kind: "pending",
    name: "chat turn",
    description:
      "POST /api/v1/chat: one stateless turn (load recent messages, store the user message, run the agent with the offline runner, store the answer)",
    reason:
      "reserved for the chat work, which adds its request and fixture here (conversations of a known length, the offline agent runner)"
  }
]

export const measured = (selection: ReadonlySet<string>): ReadonlyArray<MeasuredWorkload> =>
  workloads.filter(
    (w): w is MeasuredWorkload => w.kind === "measured" && (selection.size === 0 || selection.has(w.name))
  )

export const pending = (): ReadonlyArray<PendingWorkload> =>
  workloads.filter((w): w is PendingWorkload => w.kind === "pending")

/** Scaling slots that are not measurable yet, reported alongside the list scaling figures. */
export const pendingScaling: ReadonlyArray<PendingWorkload> = [
  {
    kind: "pending",
    name: "chat turn, 10 vs 300 messages",
    description: "latency of one chat turn in a conversation holding 10 and 300 messages",
    reason: "reserved for the chat work, with the chat turn workload"
  }
]

export const captureCeiling = (workload: MeasuredWorkload): Promise<CapturedStatement> =>
  capture(workload.ceiling)
