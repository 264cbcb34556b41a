/**
 * The app's client of the public REST API: JSON over `/api/v1` with the bearer token, and
 * every non-2xx answer turned into an `ApiError` carrying the API's error code, message and
 * field issues. Types come from the core's schemas, so there is one definition of a task.
 */
import type {
  Conversation,
  ConversationPage,
  Message,
  MessagePage,
  PendingActionView,
  Task,
  TaskPage,
  ToolCall
} from "@taskport/core"

export type { Conversation, Message, Task, ToolCall }
export type PendingAction = PendingActionView

export interface Identity {
  readonly user_id: string
  readonly name?: string | null
  readonly email?: string | null
  readonly expires_at?: string | null
}

interface Issue {
  readonly field?: string
  readonly message?: string
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly issues: ReadonlyArray<Issue>
  constructor(status: number, code: string, message: string, issues: ReadonlyArray<Issue> = []) {
    super(message)
    this.status = status
    this.code = code
    this.issues = issues
  }
  /** The message with the fields it names, for showing to a person. */
  get explanation(): string {
    if (this.issues.length === 0) return this.message
    return this.issues.map((issue) => `${issue.field || "request"}: ${issue.message ?? "invalid"}`).join("; ")
  }
}

export const BASE = "/api/v1"

/** Tasks asked for per page of the list. */
export const PAGE_SIZE = 20

let currentToken: string | undefined
/** Called when the API refuses the token (401), so the app can ask for a new one. */
let onUnauthorized: () => void = () => {}

export const setToken = (token: string | undefined) => {
  currentToken = token
}
export const setUnauthorizedHandler = (handler: () => void) => {
  onUnauthorized = handler
}

export const authHeaders = (): Record<string, string> =>
  currentToken === undefined ? {} : { authorization: `Bearer ${currentToken}` }

const toError = async (response: Response): Promise<ApiError> => {
  try {
    const body = (await response.json()) as {
      error?: { code?: string; message?: string; details?: { issues?: ReadonlyArray<Issue> } }
    }
    return new ApiError(
      response.status,
      body.error?.code ?? "error",
      body.error?.message ?? response.statusText,
      body.error?.details?.issues ?? []
    )
  } catch {
    return new ApiError(response.status, "error", response.statusText || `HTTP ${response.status}`)
  }
}

export interface RequestOptions {
  readonly method?: string
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

export const request = async <A>(path: string, options: RequestOptions = {}): Promise<A> => {
  const headers: Record<string, string> = { accept: "application/json", ...authHeaders(), ...options.headers }
  const init: RequestInit = { method: options.method ?? "GET", headers }
  if (options.body !== undefined) {
    headers["content-type"] = "application/json"
    init.body = JSON.stringify(options.body)
  }
  const response = await fetch(`${BASE}${path}`, init)
  if (response.status === 401) onUnauthorized()
  if (!response.ok) throw await toError(response)
  if (response.status === 204) return undefined as A
  return (await response.json()) as A
}

export const errorResponse = toError

const query = (params: Readonly<Record<string, string | number | undefined>>) => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value))
  }
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}

export interface TaskFilters {
  readonly status: "all" | "pending" | "completed" | "trashed"
  readonly due: "" | "overdue" | "today" | "upcoming"
  readonly priority: "" | "low" | "medium" | "high"
  readonly tag: string
  readonly query: string
  readonly sort: "created_at" | "updated_at" | "due" | "priority" | "title"
  readonly order: "" | "asc" | "desc"
}

export interface TaskInput {
  readonly title?: string
  readonly description?: string | null
  readonly due?: string | null
  readonly priority?: "low" | "medium" | "high"
  readonly tags?: ReadonlyArray<string>
}

const pad = (value: number) => String(value).padStart(2, "0")
/** A moment as the API's due text, in this browser's time zone. */
const localDue = (date: Date) =>
  `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(
    date.getMinutes()
  )}:${pad(date.getSeconds())}[${Intl.DateTimeFormat().resolvedOptions().timeZone}]`

/** The due views as the API's due_before / due_after bounds, in the person's own day. */
const dueBounds = (view: TaskFilters["due"], now = new Date()) => {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate())
  const justBefore = new Date(midnight.getTime() - 1000)
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1)
  switch (view) {
    case "overdue":
      return { due_before: localDue(now) }
    case "today":
      return { due_after: localDue(justBefore), due_before: localDue(tomorrow) }
    case "upcoming":
      return { due_after: localDue(now) }
    case "":
      return {}
  }
}

export const etagOf = (task: Task) => `"v${task.version}"`

export const api = {
  listTasks: (filters: TaskFilters, cursor: string | undefined, limit = PAGE_SIZE) =>
    request<TaskPage>(
      `/tasks${query({
        status: filters.due === "overdue" && filters.status === "all" ? "pending" : filters.status,
        ...dueBounds(filters.due),
        priority: filters.priority,
        tag: filters.tag.trim().toLowerCase(),
        query: filters.query.trim(),
        sort: filters.sort,
        order: filters.order,
        limit,
        cursor
      })}`
    ),
  readTask: (id: number) => request<Task>(`/tasks/${id}`),
  createTask: (input: TaskInput) => request<Task>("/tasks", { method: "POST", body: input }),
  updateTask: (task: Task, input: TaskInput) =>
    request<Task>(`/tasks/${task.id}`, {
      method: "PATCH",
      body: input,
      headers: { "if-match": etagOf(task) }
    }),
  setCompleted: (id: number, completed: boolean) =>
    request<Task>(`/tasks/${id}/complete`, { method: "POST", body: { completed } }),
  deleteTask: (id: number) => request<void>(`/tasks/${id}`, { method: "DELETE" }),
  restoreTask: (id: number) => request<Task>(`/tasks/${id}/restore`, { method: "POST" }),
  me: () => request<Identity>("/auth/me"),
  listConversations: () => request<ConversationPage>("/conversations?limit=50"),
  readConversation: (id: string) => request<Conversation>(`/conversations/${id}`),
  renameConversation: (id: string, title: string) =>
    request<Conversation>(`/conversations/${id}`, { method: "PATCH", body: { title } }),
  deleteConversation: (id: string) => request<void>(`/conversations/${id}`, { method: "DELETE" }),
  listMessages: (id: string) => request<MessagePage>(`/conversations/${id}/messages?limit=100`)
}

/** Which optional routes this server offers, read from its OpenAPI document. */
export interface Capabilities {
  readonly restore: boolean
  readonly renameConversation: boolean
  readonly me: boolean
}

export const capabilities = async (): Promise<Capabilities> => {
  try {
    const response = await fetch(`${BASE}/openapi.json`)
    const document = (await response.json()) as { paths?: Record<string, Record<string, unknown>> }
    const paths = document.paths ?? {}
    return {
      restore: paths[`${BASE}/tasks/{id}/restore`]?.post !== undefined,
      renameConversation: paths[`${BASE}/conversations/{id}`]?.patch !== undefined,
      me: paths[`${BASE}/auth/me`]?.get !== undefined
    }
  } catch {
    return { restore: false, renameConversation: false, me: false }
  }
}
