/**
 * The chat view: the person's conversations (open, rename, delete), the messages of the open
 * one, and a message box whose turn streams back as server-sent events from `POST /chat`.
 * Each tool call is one line saying what the agent did, linking to the task it touched;
 * when a call changed tasks the task list is told to reload. A model failure (503) keeps
 * the person's message (the server stored it) and offers to send it again. When the agent
 * asks before a destructive action (the reply's `pending_action`), its summary is shown with
 * Confirm and Cancel, which answer it explicitly (`confirm` / `decline`) until it expires.
 */
import { type FormEvent, type KeyboardEvent, useCallback, useEffect, useId, useRef, useState } from "react"
import {
  ApiError,
  api,
  authHeaders,
  BASE,
  type Capabilities,
  type Conversation,
  errorResponse,
  type Message,
  type PendingAction,
  type ToolCall
} from "./api.ts"
import type { NoticeState } from "./Notice.tsx"
import { readSse } from "./sse.ts"

type Notify = (notice: NoticeState) => void

const CHANGING_TOOLS = new Set(["todo_create", "todo_update", "todo_complete", "todo_delete"])

interface StreamingTurn {
  readonly user: string
  readonly text: string
  readonly calls: ReadonlyArray<ToolCall | Omit<ToolCall, "result" | "is_error">>
}

/** What a turn sends: a message, or an answer to the conversation's pending action. */
type TurnInput =
  | { readonly message: string }
  | { readonly confirm: string; readonly conversation_id: string }
  | { readonly decline: string; readonly conversation_id: string }

/** The words the server stores for an explicit answer, shown while it is sent. */
const spoken = (input: TurnInput) =>
  "message" in input ? input.message : "confirm" in input ? "Yes." : "No."

interface FailedTurn {
  readonly input: TurnInput
  readonly text: string
}

interface Pending {
  readonly conversation: string
  readonly action: PendingAction
}

const VERBS: Record<string, string> = {
  todo_create: "Created",
  todo_read: "Read",
  todo_update: "Updated",
  todo_complete: "Completed",
  todo_delete: "Deleted",
  todo_list: "Listed tasks"
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {}

/** One compact line for a tool call: what was done, to which task. */
const ToolLine = ({
  call,
  onShowTask
}: {
  call: ToolCall | Omit<ToolCall, "result" | "is_error">
  onShowTask: (id: number) => void
}) => {
  const result = "result" in call ? record(call.result) : {}
  const args = record(call.arguments)
  const failed = "is_error" in call && call.is_error
  const pending = !("result" in call)
  const id = typeof result.id === "number" ? result.id : typeof args.id === "number" ? args.id : undefined
  const title =
    typeof result.title === "string" ? result.title : typeof args.title === "string" ? args.title : ""
  let verb = VERBS[call.name] ?? call.name
  if (call.name === "todo_complete" && args.completed === false) verb = "Reopened"
  // A gated call did nothing yet: the agent asked first.
  const asked = result.status === "awaiting_confirmation"
  if (asked) verb = call.name === "todo_delete" ? "Asked before deleting" : "Asked before changing"
  const count = Array.isArray(result.tasks) ? ` (${result.tasks.length})` : ""
  return (
    <li className={`tool-line${failed ? " failed" : ""}`}>
      <span aria-hidden="true">{failed ? "✗" : pending || asked ? "…" : "✓"}</span> {verb}
      {count}
      {id === undefined ? null : (
        <>
          {" "}
          <a
            href={`#task-${id}`}
            onClick={(event) => {
              event.preventDefault()
              onShowTask(id)
            }}
          >
            task #{id}
            {title === "" ? "" : ` “${title}”`}
          </a>
        </>
      )}
      {failed ? <span className="muted"> (failed)</span> : null}
    </li>
  )
}

export interface ChatProps {
  readonly capabilities: Capabilities
  readonly notify: Notify
  readonly onTasksChanged: () => void
  readonly onShowTask: (id: number) => void
}

export const Chat = ({ capabilities, notify, onTasksChanged, onShowTask }: ChatProps) => {
  const [conversations, setConversations] = useState<ReadonlyArray<Conversation>>([])
  const [active, setActive] = useState<string>()
  const [messages, setMessages] = useState<ReadonlyArray<Message>>([])
  const [draft, setDraft] = useState("")
  const [turn, setTurn] = useState<StreamingTurn>()
  const [failed, setFailed] = useState<FailedTurn>()
  const [pending, setPending] = useState<Pending>()
  const [renaming, setRenaming] = useState<string>()
  const [newTitle, setNewTitle] = useState("")
  const id = useId()
  const log = useRef<HTMLOListElement>(null)

  const loadConversations = useCallback(async () => {
    try {
      setConversations((await api.listConversations()).items)
    } catch (failure) {
      if (failure instanceof ApiError) notify({ text: failure.explanation, tone: "error" })
    }
  }, [notify])

  useEffect(() => {
    void loadConversations()
  }, [loadConversations])

  useEffect(() => {
    if (active === undefined) {
      setMessages([])
      return
    }
    api
      .listMessages(active)
      .then((page) => setMessages(page.items))
      .catch((failure: unknown) => {
        if (failure instanceof ApiError) notify({ text: failure.explanation, tone: "error" })
      })
  }, [active, notify])

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever the log grows
  useEffect(() => {
    log.current?.lastElementChild?.scrollIntoView({ block: "end" })
  }, [messages, turn])

  // The buttons go when the server would no longer take the answer.
  useEffect(() => {
    if (pending === undefined) return
    const timer = setTimeout(
      () => {
        setPending(undefined)
        notify({
          text: "The confirmation expired, so nothing was done; ask again if you still want it.",
          tone: "info"
        })
      },
      Math.max(0, Date.parse(pending.action.expires_at) - Date.now())
    )
    return () => clearTimeout(timer)
  }, [pending, notify])

  const send = async (input: TurnInput) => {
    const message = spoken(input)
    setFailed(undefined)
    // Any new turn answers or supersedes the open question on the server.
    setPending(undefined)
    setTurn({ user: message, text: "", calls: [] })
    let conversation = active
    let changed = false
    try {
      const response = await fetch(`${BASE}/chat`, {
        method: "POST",
        headers: { ...authHeaders(), "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(
          "message" in input && active !== undefined ? { ...input, conversation_id: active } : input
        )
      })
      if (!response.ok || response.body === null) throw await errorResponse(response)
      let text = ""
      let calls: StreamingTurn["calls"] = []
      await readSse(response.body, ({ event, data }) => {
        const payload = record(JSON.parse(data === "" ? "{}" : data))
        if (event === "delta" && typeof payload.text === "string") text += payload.text
        else if (event === "tool_call") calls = [...calls, payload as unknown as ToolCall]
        else if (event === "tool_result") {
          const call = payload as unknown as ToolCall
          calls = calls.map((each) => (each.id === call.id ? call : each))
          if (CHANGING_TOOLS.has(call.name) && !call.is_error) changed = true
        } else if (event === "done" && typeof payload.conversation_id === "string") {
          conversation = payload.conversation_id
          // An answered confirmation runs its call without streaming it: it is only here.
          const done = Array.isArray(payload.tool_calls) ? (payload.tool_calls as Array<ToolCall>) : []
          if (done.some((call) => CHANGING_TOOLS.has(call.name) && !call.is_error)) changed = true
          const action = record(payload.pending_action)
          if (typeof action.id === "string" && typeof action.expires_at === "string") {
            setPending({
              conversation: payload.conversation_id,
              action: action as unknown as PendingAction
            })
          }
        } else if (event === "error") {
          const error = record(payload.error)
          throw new ApiError(503, String(error.code ?? "error"), String(error.message ?? "The turn failed"))
        }
        setTurn({ user: message, text, calls })
      })
      if (conversation !== undefined) {
        const page = await api.listMessages(conversation)
        setMessages(page.items)
      }
      setTurn(undefined)
      if (conversation !== active) setActive(conversation)
    } catch (failure) {
      setTurn(undefined)
      const reason = failure instanceof ApiError ? failure.message : "The server could not be reached."
      const modelDown = failure instanceof ApiError && failure.code === "model_unavailable"
      setFailed({
        input,
        text: modelDown
          ? "The model did not answer, so there is no reply yet. Your message was kept."
          : `Not sent: ${reason}`
      })
      // The server kept the message; show it where it was kept. A new conversation's id is
      // not in the error, but it is the one this person touched last.
      const kept = modelDown
        ? (conversation ?? (await api.listConversations().catch(() => undefined))?.items[0]?.id)
        : undefined
      if (kept !== undefined) {
        if (kept !== active) setActive(kept)
        else
          api
            .listMessages(kept)
            .then((page) => setMessages(page.items))
            .catch(() => undefined)
      }
    } finally {
      if (changed) onTasksChanged()
      void loadConversations()
    }
  }

  const submit = (event: FormEvent) => {
    event.preventDefault()
    const message = draft.trim()
    if (message === "" || turn !== undefined) return
    setDraft("")
    void send({ message })
  }

  const onMessageKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault()
      event.currentTarget.form?.requestSubmit()
    }
  }

  const rename = async (event: FormEvent, conversation: Conversation) => {
    event.preventDefault()
    try {
      const updated = await api.renameConversation(conversation.id, newTitle)
      setConversations((current) => current.map((each) => (each.id === updated.id ? updated : each)))
      setRenaming(undefined)
    } catch (failure) {
      notify({ text: failure instanceof ApiError ? failure.explanation : "Rename failed.", tone: "error" })
    }
  }

  const remove = async (conversation: Conversation) => {
    try {
      await api.deleteConversation(conversation.id)
      if (active === conversation.id) setActive(undefined)
      setConversations((current) => current.filter((each) => each.id !== conversation.id))
      notify({ text: `Deleted the conversation “${conversation.title}”.`, tone: "info" })
    } catch (failure) {
      notify({ text: failure instanceof ApiError ? failure.explanation : "Delete failed.", tone: "error" })
    }
  }

  return (
    <section className="chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading">Chat</h2>
      <div className="chat-layout">
        <nav className="conversations" aria-label="Conversations">
          <button
            type="button"
            onClick={() => setActive(undefined)}
            aria-current={active === undefined ? "true" : undefined}
          >
            New conversation
          </button>
          <ul>
            {conversations.map((conversation) => (
              <li key={conversation.id}>
                {renaming === conversation.id ? (
                  <form onSubmit={(event) => void rename(event, conversation)} className="rename">
                    <label htmlFor={`${id}-rename`} className="visually-hidden">
                      New title
                    </label>
                    <input
                      id={`${id}-rename`}
                      value={newTitle}
                      onChange={(event) => setNewTitle(event.target.value)}
                      onKeyDown={(event) => {
                        if (event.key === "Escape") setRenaming(undefined)
                      }}
                      // biome-ignore lint/a11y/noAutofocus: the person just asked to rename
                      autoFocus
                    />
                    <button type="submit">Save</button>
                  </form>
                ) : (
                  <div className="conversation">
                    <button
                      type="button"
                      className="conversation-title"
                      onClick={() => setActive(conversation.id)}
                      aria-current={active === conversation.id ? "true" : undefined}
                    >
                      {conversation.title}
                    </button>
                    {capabilities.renameConversation ? (
                      <button
                        type="button"
                        className="quiet"
                        onClick={() => {
                          setRenaming(conversation.id)
                          setNewTitle(conversation.title)
                        }}
                      >
                        Rename<span className="visually-hidden"> “{conversation.title}”</span>
                      </button>
                    ) : null}
                    <button type="button" className="quiet danger" onClick={() => void remove(conversation)}>
                      Delete<span className="visually-hidden"> conversation “{conversation.title}”</span>
                    </button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        </nav>
        <div className="thread">
          <ol className="messages" ref={log} aria-label="Messages" aria-live="polite">
            {messages.length === 0 && turn === undefined ? (
              <li className="muted hint">Ask the agent, for example “add a task to buy groceries”.</li>
            ) : null}
            {messages.map((message) => (
              <li key={message.id} className={`message ${message.role}`}>
                <span className="visually-hidden">{message.role === "user" ? "You: " : "Agent: "}</span>
                {message.tool_calls.length === 0 ? null : (
                  <ul className="tool-lines">
                    {message.tool_calls.map((call) => (
                      <ToolLine key={call.id} call={call} onShowTask={onShowTask} />
                    ))}
                  </ul>
                )}
                <p>{message.content}</p>
              </li>
            ))}
            {turn === undefined ? null : (
              <>
                <li className="message user">
                  <span className="visually-hidden">You: </span>
                  <p>{turn.user}</p>
                </li>
                <li className="message assistant streaming" aria-busy="true">
                  <span className="visually-hidden">Agent: </span>
                  {turn.calls.length === 0 ? null : (
                    <ul className="tool-lines">
                      {turn.calls.map((call) => (
                        <ToolLine key={call.id} call={call} onShowTask={onShowTask} />
                      ))}
                    </ul>
                  )}
                  <p>{turn.text === "" ? "…" : turn.text}</p>
                </li>
              </>
            )}
          </ol>
          {pending === undefined || pending.conversation !== active || turn !== undefined ? null : (
            <fieldset className="pending-action">
              <legend>The agent asks before doing this</legend>
              <p>{pending.action.summary}?</p>
              <div className="pending-buttons">
                <button
                  type="button"
                  className="danger"
                  onClick={() =>
                    void send({ confirm: pending.action.id, conversation_id: pending.conversation })
                  }
                >
                  Confirm
                </button>
                <button
                  type="button"
                  onClick={() =>
                    void send({ decline: pending.action.id, conversation_id: pending.conversation })
                  }
                >
                  Cancel
                </button>
              </div>
            </fieldset>
          )}
          {failed === undefined ? null : (
            <div className="chat-error" role="alert">
              <span>{failed.text}</span>
              <button type="button" onClick={() => void send(failed.input)}>
                Retry
              </button>
            </div>
          )}
          <form className="message-box" onSubmit={submit}>
            <label htmlFor={`${id}-message`} className="visually-hidden">
              Message to the agent
            </label>
            <textarea
              id={`${id}-message`}
              value={draft}
              rows={2}
              placeholder="Message the agent"
              onChange={(event) => setDraft(event.target.value)}
              onKeyDown={onMessageKey}
            />
            <button type="submit" className="primary" disabled={turn !== undefined}>
              Send
            </button>
          </form>
        </div>
      </div>
    </section>
  )
}
