/**
 * The REST route table. It is the single list that both registers the h3 handlers and
 * produces the OpenAPI document, so the document and the app cannot drift apart. Request
 * bodies are slices of the core's tool parameter schemas; nothing is redefined here.
 */
import {
  BatchParams,
  BatchResult,
  ChatReply,
  ChatTurnParams,
  CompleteTaskParams,
  Conversation,
  ConversationId,
  ConversationPage,
  CreateTaskParams,
  DeleteTaskParams,
  ListConversationsParams,
  ListMessagesParams,
  ListTasksParams,
  MessagePage,
  RenameConversationParams,
  ReplaceTaskParams,
  Task,
  TaskPage,
  TaskRef,
  type TodoToolName,
  UpdateTaskParams,
  UserId
} from "@taskport/core"
import { Schema } from "effect"
import { IdempotencyHeaders } from "./IdempotencyKeys.ts"
import { ConditionalReadHeaders, ConditionalWriteHeaders } from "./Preconditions.ts"

// Path parameters: the handlers decode them with these schemas and the document shows them.
export const TaskPath = Schema.Struct({ id: TaskRef.fields.id.annotate({ description: "The task's id." }) })
export const ConversationPath = Schema.Struct({ id: ConversationId })
export const UserPath = Schema.Struct({
  user_id: UserId.annotate({ description: "Must equal the token's sub; any other user is refused with 403." })
})

// Over REST the idempotency key travels in the Idempotency-Key header, not in a body.
const { id: _completeId, idempotency_key: _completeKey, ...completeFields } = CompleteTaskParams.fields
const { id: _updateId, idempotency_key: _updateKey, ...patchFields } = UpdateTaskParams.fields
const { idempotency_key: _createKey, ...createFields } = CreateTaskParams.fields

/** POST body: the editable fields; only the title is required. */
export const CreateTaskBody = Schema.Struct(createFields).annotate({ identifier: "CreateTaskBody" })

/** PATCH body: every editable field optional, plus expected_version. */
export const PatchTaskBody = Schema.Struct(patchFields).annotate({ identifier: "PatchTaskBody" })

const { idempotency_key: _batchKey, ...batchFields } = BatchParams.fields

/** POST /tasks/batch body: the items and whether they apply all or none. */
export const BatchBody = Schema.Struct(batchFields).annotate({ identifier: "BatchBody" })

/** DELETE query: `permanent=true` removes a task already in the trash for good. */
export const DeleteTaskQuery = Schema.Struct({ permanent: DeleteTaskParams.fields.permanent })

/** The headers of a write that names a task: its precondition and its idempotency key. */
export const TaskWriteHeaders = Schema.Struct({
  ...ConditionalWriteHeaders.fields,
  ...IdempotencyHeaders.fields
})

const { id: _replaceId, ...replaceFields } = ReplaceTaskParams.fields

/** PUT body: the editable fields as for creation (absent ones reset to defaults), plus expected_version. */
export const ReplaceTaskBody = Schema.Struct(replaceFields).annotate({ identifier: "ReplaceTaskBody" })

export const CompleteTaskBody = Schema.Struct(completeFields).annotate({ identifier: "CompleteTaskBody" })

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export type RouteKind =
  | "list"
  | "create"
  | "read"
  | "replace"
  | "patch"
  | "delete"
  | "complete"
  | "restore"
  | "batch"

/** The kinds that write, each accepting an Idempotency-Key. */
export const isWrite = (kind: RouteKind): boolean => kind !== "list" && kind !== "read"

/** The writes that name a task, each honouring If-Match. */
export const isConditional = (kind: RouteKind): boolean =>
  isWrite(kind) && kind !== "create" && kind !== "batch"

/**
 * What a route table entry says about an operation: how it is reached, what it decodes and
 * what it answers. The handlers and the OpenAPI document both read it.
 */
export interface RouteSpec<Kind extends string> {
  readonly kind: Kind
  readonly method: Method
  /** Path below the prefix, in OpenAPI form. */
  readonly path: string
  readonly operationId: string
  readonly summary: string
  readonly status: 200 | 201 | 204
  readonly params?: Schema.Struct<Schema.Struct.Fields>
  readonly query?: Schema.Top
  readonly headers?: Schema.Struct<Schema.Struct.Fields>
  readonly body?: Schema.Top
  readonly bodyRequired?: boolean
  readonly response?: Schema.Top
}

/** A task route runs one `todo_*` tool. */
export interface TaskRoute extends RouteSpec<RouteKind> {
  readonly tool: TodoToolName
}

export const taskRoutes: ReadonlyArray<TaskRoute> = [
  {
    kind: "list",
    method: "GET",
    path: "/tasks",
    operationId: "todo_list",
    tool: "todo_list",
    summary: "List tasks with filters, search, sorting and cursor pagination; status=trashed lists the trash",
    status: 200,
    query: ListTasksParams,
    response: TaskPage
  },
  {
    kind: "create",
    method: "POST",
    path: "/tasks",
    operationId: "todo_create",
    tool: "todo_create",
    summary: "Create a task (Idempotency-Key honoured)",
    status: 201,
    headers: IdempotencyHeaders,
    body: CreateTaskBody,
    bodyRequired: true,
    response: Task
  },
  {
    kind: "read",
    method: "GET",
    path: "/tasks/{id}",
    operationId: "todo_read",
    tool: "todo_read",
    summary: "Read a task (ETag; If-None-Match answers 304)",
    status: 200,
    params: TaskPath,
    headers: ConditionalReadHeaders,
    response: Task
  },
  {
    kind: "replace",
    method: "PUT",
    path: "/tasks/{id}",
    operationId: "todo_replace",
    tool: "todo_update",
    summary: "Replace a task's editable fields (If-Match honoured)",
    status: 200,
    params: TaskPath,
    headers: TaskWriteHeaders,
    body: ReplaceTaskBody,
    bodyRequired: true,
    response: Task
  },
  {
    kind: "patch",
    method: "PATCH",
    path: "/tasks/{id}",
    operationId: "todo_update",
    tool: "todo_update",
    summary: "Change some fields of a task (If-Match honoured)",
    status: 200,
    params: TaskPath,
    headers: TaskWriteHeaders,
    body: PatchTaskBody,
    bodyRequired: true,
    response: Task
  },
  {
    kind: "delete",
    method: "DELETE",
    path: "/tasks/{id}",
    operationId: "todo_delete",
    tool: "todo_delete",
    summary:
      "Move a task to the trash (undo with restore; purged after the retention period), or with permanent=true remove a trashed task for good (If-Match honoured)",
    status: 204,
    params: TaskPath,
    query: DeleteTaskQuery,
    headers: TaskWriteHeaders
  },
  {
    kind: "complete",
    method: "POST",
    path: "/tasks/{id}/complete",
    operationId: "todo_complete",
    tool: "todo_complete",
    summary: "Mark a task done, or reopen it with completed: false (If-Match honoured)",
    status: 200,
    params: TaskPath,
    headers: TaskWriteHeaders,
    body: CompleteTaskBody,
    bodyRequired: false,
    response: Task
  },
  {
    kind: "restore",
    method: "POST",
    path: "/tasks/{id}/restore",
    operationId: "todo_restore",
    tool: "todo_restore",
    summary: "Take a task out of the trash as it was, at version + 1 (If-Match honoured)",
    status: 200,
    params: TaskPath,
    headers: TaskWriteHeaders,
    response: Task
  },
  {
    kind: "batch",
    method: "POST",
    path: "/tasks/batch",
    operationId: "todo_batch",
    tool: "todo_batch",
    summary:
      "Up to 25 writes in one call, one result per item in order; independent unless atomic is true (Idempotency-Key honoured)",
    status: 200,
    headers: IdempotencyHeaders,
    body: BatchBody,
    bodyRequired: true,
    response: BatchResult
  }
]

export type ChatRouteKind =
  | "chat"
  | "list_conversations"
  | "list_messages"
  | "delete_conversation"
  | "read_conversation"
  | "rename_conversation"

/** A chat or conversation route; `{id}` in its path is a conversation id. */
export type ChatRoute = RouteSpec<ChatRouteKind>

export const chatRoutes: ReadonlyArray<ChatRoute> = [
  {
    kind: "chat",
    method: "POST",
    path: "/chat",
    operationId: "chat",
    summary:
      "Send a message to the agent; with Accept: text/event-stream the answer streams as server-sent events",
    status: 200,
    body: ChatTurnParams,
    bodyRequired: true,
    response: ChatReply
  },
  {
    kind: "list_conversations",
    method: "GET",
    path: "/conversations",
    operationId: "conversations_list",
    summary: "List conversations, most recently active first, with cursor pagination",
    status: 200,
    query: ListConversationsParams,
    response: ConversationPage
  },
  {
    kind: "list_messages",
    method: "GET",
    path: "/conversations/{id}/messages",
    operationId: "conversation_messages",
    summary: "List a conversation's messages in order, with their tool calls",
    status: 200,
    params: ConversationPath,
    query: ListMessagesParams,
    response: MessagePage
  },
  {
    kind: "read_conversation",
    method: "GET",
    path: "/conversations/{id}",
    operationId: "conversation_read",
    summary: "Read one conversation (its title and times)",
    status: 200,
    params: ConversationPath,
    response: Conversation
  },
  {
    kind: "rename_conversation",
    method: "PATCH",
    path: "/conversations/{id}",
    operationId: "conversation_rename",
    summary: "Change a conversation's title",
    status: 200,
    params: ConversationPath,
    body: RenameConversationParams,
    bodyRequired: true,
    response: Conversation
  },
  {
    kind: "delete_conversation",
    method: "DELETE",
    path: "/conversations/{id}",
    operationId: "conversation_delete",
    summary: "Delete a conversation and its messages (its tasks stay)",
    status: 204,
    params: ConversationPath
  }
]

/** The two prefixes every task and chat route is served under. */
export const PREFIX_V1 = "/api/v1"
export const PREFIX_USER = "/api/{user_id}"

/** OpenAPI path (`/tasks/{id}`) to an h3 route pattern (`/tasks/:id`). */
export const toH3Path = (path: string) => path.replace(/\{([a-z_]+)\}/g, ":$1")
