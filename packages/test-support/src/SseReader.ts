/**
 * Reads a server-sent events body frame by frame, as a client would: each frame with its
 * `id`, `event`, `data` and comment lines. Tests wait for frames by what they say, never by
 * time: a frame that never comes fails the test on its timeout.
 */
export interface SseFrame {
  readonly id?: string
  readonly event?: string
  readonly data?: string
  readonly comments: ReadonlyArray<string>
}

export interface SseReader {
  /** The next frame, or undefined once the stream has ended. */
  readonly next: () => Promise<SseFrame | undefined>
  /** Frames until one carrying an event (`event:`) arrives; undefined when the stream ends first. */
  readonly nextEvent: () => Promise<SseFrame | undefined>
  /** Every frame up to the end of the stream. */
  readonly rest: () => Promise<ReadonlyArray<SseFrame>>
  readonly cancel: () => Promise<void>
}

const parse = (block: string): SseFrame => {
  const frame: { id?: string; event?: string; data?: string; comments: Array<string> } = { comments: [] }
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) frame.comments.push(line.slice(1).trim())
    else if (line.startsWith("id:")) frame.id = line.slice(3).trim()
    else if (line.startsWith("event:")) frame.event = line.slice(6).trim()
    else if (line.startsWith("data:"))
      frame.data = (frame.data === undefined ? "" : `${frame.data}\n`) + line.slice(5).trim()
  }
  return frame
}

export const sseReader = (body: ReadableStream<Uint8Array>): SseReader => {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  const next = async (): Promise<SseFrame | undefined> => {
    for (;;) {
      const end = buffer.indexOf("\n\n")
      if (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        return parse(block)
      }
      const chunk = await reader.read()
      if (chunk.done) return undefined
      buffer += decoder.decode(chunk.value, { stream: true })
    }
  }
  const nextEvent = async () => {
    for (;;) {
      const frame = await next()
      if (frame === undefined || frame.event !== undefined) return frame
    }
  }
  const rest = async () => {
    const frames: Array<SseFrame> = []
    for (let frame = await next(); frame !== undefined; frame = await next()) frames.push(frame)
    return frames
  }
  return { next, nextEvent, rest, cancel: () => reader.cancel() }
}
