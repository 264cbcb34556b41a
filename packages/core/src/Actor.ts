/**
 * Who made a change: the surface it came through and the client behind it. Each surface sets
 * the `CurrentActor` reference around the work it runs (REST from the request's user agent,
 * MCP from the client's `initialize` info, the chat service from the turn and the tool call
 * it is running); a caller of the library that sets nothing is the `library` surface. It is
 * never read from tool arguments, so a model cannot claim to be someone else.
 */
import { Context, Schema } from "effect"

export const Surface = Schema.Literals(["rest", "mcp", "chat", "library"]).annotate({
  description: "The surface the change came through."
})
export type Surface = typeof Surface.Type

/** Client names are truncated to this many characters; a user agent can be of any length. */
export const MAX_CLIENT_LENGTH = 200

const Client = Schema.String.check(Schema.isMaxLength(MAX_CLIENT_LENGTH))

export const Actor = Schema.Struct({
  surface: Surface,
  client: Schema.NullOr(Client).annotate({
    description: "The MCP client's name/version, or the HTTP user agent; null when unknown."
  }),
  conversation_id: Schema.NullOr(Schema.String).annotate({
    description: "For chat, the conversation whose turn made the change."
  }),
  tool_call_id: Schema.NullOr(Schema.String.check(Schema.isMaxLength(MAX_CLIENT_LENGTH))).annotate({
    description: "For chat, the model's tool call that made the change."
  })
}).annotate({ identifier: "Actor", description: "Who made the change." })
export type Actor = typeof Actor.Type

/** Control characters and lone surrogates (a code point of its own in that range when iterated). */
const isStorablePoint = (point: string): boolean => {
  const code = point.codePointAt(0) ?? 0
  return code >= 0x20 && code !== 0x7f && (code < 0xd800 || code > 0xdfff)
}

/**
 * A client label as it may be stored: control characters and unpaired surrogates (which
 * Postgres cannot store) removed, cut to `MAX_CLIENT_LENGTH`; null when nothing is left.
 */
export const clientLabel = (raw: string | null | undefined): string | null => {
  if (raw === null || raw === undefined) return null
  const clean = Array.from(raw).filter(isStorablePoint).join("").trim()
  if (clean === "") return null
  if (clean.length <= MAX_CLIENT_LENGTH) return clean
  // Cut between code points, so no surrogate pair is split.
  let cut = ""
  for (const point of clean) {
    if (cut.length + point.length > MAX_CLIENT_LENGTH) break
    cut += point
  }
  return cut
}

export const actor = (
  surface: Surface,
  options: {
    readonly client?: string | null | undefined
    readonly conversationId?: string | null | undefined
    readonly toolCallId?: string | null | undefined
  } = {}
): Actor => ({
  surface,
  client: clientLabel(options.client),
  conversation_id: options.conversationId ?? null,
  tool_call_id: clientLabel(options.toolCallId)
})

/** The actor of the changes made by the running effect; `library` unless a surface sets it. */
export const CurrentActor = Context.Reference<Actor>("@taskport/core/Actor", {
  defaultValue: () => actor("library")
})
