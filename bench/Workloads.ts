/**
 * The workload table: what each measured request is, how its ceiling statement is obtained
 * from the repository (where one statement stands for it), and the slots for workloads that
 * cannot be measured yet. A slot stays in the table and in the report, marked pending with
 * its reason, so a missing figure is visible and never filled with a made-up one.
 */
import type { NewTask, TaskId, TaskQuery, TaskRepository } from "@taskport/core"
import type { Effect } from "effect"
import { type CapturedStatement, capture, SENTINEL, type Target } from "./Ceiling.ts"
import { CHAT_REPLY } from "./InstantModel.ts"
import type { LoadRequest } from "./Load.ts"

export interface BenchUser {
  readonly id: string
  readonly token: string
  readonly taskIds: ReadonlyArray<number>
  /** Seeded conversations the chat turns continue, when the chat workload runs. */
  readonly conversations: ReadonlyArray<string>
}

/**
 * What a run leaves behind and is undone before the next: nothing, the tasks a create added,
 * or the messages and tasks chat turns added (conversations go back to their seeded length).
 */
export type Restore = "nothing" | "created tasks" | "conversations"

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
  /**
   * The repository call whose statement is this workload's ceiling; none for a request that
   * is many statements and model round trips (a chat turn), which no one statement stands for.
   */
  readonly ceiling?: ((repository: TaskRepository["Service"]) => Effect.Effect<unknown, unknown>) | undefined
  /** What is undone after each run so every run sees the same tables. */
  readonly restore: Restore
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
// User by user: a connection takes one user's conversations in turn, and connections start
// far apart in the rotation, so concurrent turns belong to different users.
const perConversation = (users: ReadonlyArray<BenchUser>): ReadonlyArray<Target> =>
  users.flatMap((u) => u.conversations.map((conversation) => ({ owner: u.id, conversation })))

/** What each chat turn says; the instant model answers every turn with the same three steps. */
export const CHAT_MESSAGE = "add a task for the benchmark"

export const chatRequest = (user: BenchUser, conversation: string): LoadRequest => ({
  method: "POST",
  path: "/api/v1/chat",
  headers: { ...bearer(user), ...json },
  body: JSON.stringify({ message: CHAT_MESSAGE, conversation_id: conversation })
})

/**
 * A turn that went the whole way: todo_list then todo_create, both without error, and the
 * model's reply. A model failure is a 503, but a tool error still answers 200, so it is
 * refused here.
 */
export const chatCompleted = (body: string): boolean => {
  try {
    const reply = JSON.parse(body) as {
      agent_response?: unknown
      tool_calls?: ReadonlyArray<{ name?: unknown; is_error?: unknown }>
    }
    const calls = reply.tool_calls ?? []
    return (
      reply.agent_response === CHAT_REPLY &&
      calls.length === 2 &&
      calls[0]?.name === "todo_list" &&
      calls[1]?.name === "todo_create" &&
      calls.every((call) => call.is_error === false)
    )
  } catch {
    return false
  }
}

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
  restore: "nothing"
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
    restore: "nothing"
  },
  {
    kind: "measured",
    name: "read",
    description: "GET /api/v1/tasks/{id}: one of the user's tasks",
    targets: perTask,
    request: (target, user) => ({ method: "GET", path: `/api/v1/tasks/${target.id}`, headers: bearer(user) }),
    expect: { status: 200, body: (body) => body.includes('"version"') },
    ceiling: (repository) => repository.find(owner, sentinelId),
    restore: "nothing"
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
    restore: "created tasks"
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
    restore: "nothing"
  },
  mcpList("modern"),
  mcpList("legacy"),
  {
    kind: "measured",
    name: "chat turn",
    description:
      "POST /api/v1/chat continuing a seeded conversation: load its recent messages, store the user message, three Chat Completions round trips to an instant model (todo_list, todo_create, reply) with both tools run, store the answer",
    targets: perConversation,
    request: (target, user) => chatRequest(user, target.conversation!),
    expect: { status: 200, body: chatCompleted },
    accept: chatCompleted,
    restore: "conversations"
  }
]

export const measured = (selection: ReadonlySet<string>): ReadonlyArray<MeasuredWorkload> =>
  workloads.filter(
    (w): w is MeasuredWorkload => w.kind === "measured" && (selection.size === 0 || selection.has(w.name))
  )

export const pending = (): ReadonlyArray<PendingWorkload> =>
  workloads.filter((w): w is PendingWorkload => w.kind === "pending")

/** The ceiling statement of a workload that has one. */
export const captureCeiling = (workload: MeasuredWorkload): Promise<CapturedStatement | undefined> =>
  workload.ceiling === undefined ? Promise.resolve(undefined) : capture(workload.ceiling)
