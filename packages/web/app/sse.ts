/**
 * Server-sent events read from a fetched body: the app reads both of its streams (a chat turn
 * and the live task events) with `fetch`, since `EventSource` cannot send the bearer token.
 */

export interface SseEvent {
  readonly event: string
  readonly data: string
  /** The `id:` field, which a reconnecting reader sends back as `Last-Event-ID`. */
  readonly id: string | undefined
}

/** The complete events at the start of `buffer`, and the incomplete rest to keep for the next chunk. */
export const parseSse = (buffer: string): { events: Array<SseEvent>; rest: string } => {
  const events: Array<SseEvent> = []
  const blocks = buffer.split(/\r?\n\r?\n/)
  const rest = blocks.pop() ?? ""
  for (const block of blocks) {
    let event = "message"
    let id: string | undefined
    const data: Array<string> = []
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) event = line.slice(6).trim()
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
      else if (line.startsWith("id:")) id = line.slice(3).trim()
    }
    events.push({ event, data: data.join("\n"), id })
  }
  return { events, rest }
}

/** Reads a body of server-sent events to its end, handing each complete event to `onEvent`. */
export const readSse = async (
  body: NonNullable<Response["body"]>,
  onEvent: (event: SseEvent) => void
): Promise<void> => {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    const parsed = parseSse(buffer + chunk.value)
    buffer = parsed.rest
    for (const event of parsed.events) onEvent(event)
  }
}
