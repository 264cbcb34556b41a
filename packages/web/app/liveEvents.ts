/**
 * The caller's task events as they happen (`GET /events/stream`), so a change made elsewhere
 * (another tab, an agent over MCP, the chat) shows without a reload. A dropped stream is
 * opened again after a pause that doubles up to half a minute, resuming after the last event
 * seen; a refused token or a server without the stream ends it.
 */
import { authHeaders, BASE } from "./api.ts"
import { readSse } from "./sse.ts"

/** What the app needs of an event: which task, and the version the change left it at. */
export interface TaskEventNotice {
  readonly type: string
  readonly task_id: number
  readonly task_version: number
}

const FIRST_PAUSE_MS = 1_000
const LONGEST_PAUSE_MS = 30_000

const noticeOf = (type: string, data: string): TaskEventNotice | undefined => {
  try {
    const body = JSON.parse(data) as { task_id?: unknown; task_version?: unknown }
    return typeof body.task_id === "number" && typeof body.task_version === "number"
      ? { type, task_id: body.task_id, task_version: body.task_version }
      : undefined
  } catch {
    return undefined
  }
}

/** Calls `onEvent` for each task event until the returned function is called. */
export const watchTaskEvents = (onEvent: (event: TaskEventNotice) => void): (() => void) => {
  const controller = new AbortController()
  let lastId: string | undefined
  let pause = FIRST_PAUSE_MS
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(`${BASE}/events/stream`, {
          headers: {
            ...authHeaders(),
            accept: "text/event-stream",
            ...(lastId === undefined ? {} : { "last-event-id": lastId })
          },
          signal: controller.signal
        })
        if (response.status === 401 || response.status === 403 || response.status === 404) return
        if (response.ok && response.body !== null) {
          pause = FIRST_PAUSE_MS
          await readSse(response.body, (event) => {
            if (event.id !== undefined) lastId = event.id
            if (!event.event.startsWith("task.")) return
            const notice = noticeOf(event.event, event.data)
            if (notice !== undefined) onEvent(notice)
          })
        }
      } catch {
        // A dropped connection: open it again below, unless the app let go of it.
      }
      if (controller.signal.aborted) return
      await new Promise((resolve) => setTimeout(resolve, pause))
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS)
    }
  }
  void run()
  return () => controller.abort()
}
