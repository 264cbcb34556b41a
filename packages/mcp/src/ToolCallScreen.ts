/**
 * A look at each incoming JSON-RPC message before the SDK handles it, shared by HTTP and
 * stdio. The SDK finds tools in a plain object, so a name such as `__proto__` or
 * `constructor` finds an inherited property instead of "no such tool", and it validates
 * `arguments` against its own request schema, answering an array with a raw validation
 * dump. Both are answered here as a tool error in the same words as every other surface.
 */
import { describeToolFailure, InvalidParameters, UnknownTool } from "@taskport/core"

export interface JsonRpcAnswer {
  readonly jsonrpc: "2.0"
  readonly id: string | number
  readonly result: {
    readonly resultType: "complete"
    readonly isError: true
    readonly content: ReadonlyArray<{ readonly type: "text"; readonly text: string }>
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const answer = (id: string | number, text: string): JsonRpcAnswer => ({
  jsonrpc: "2.0",
  id,
  // 2026-07-28 requires resultType; earlier revisions ignore fields they do not know.
  result: { resultType: "complete", isError: true, content: [{ type: "text", text }] }
})

/** The answer to a `tools/call` the SDK must not see, or undefined to let it through. */
export const screen = (message: unknown, toolNames: ReadonlySet<string>): JsonRpcAnswer | undefined => {
  if (!isRecord(message) || message.method !== "tools/call") return undefined
  const id = message.id
  if (typeof id !== "string" && typeof id !== "number") return undefined
  const params = message.params
  if (!isRecord(params) || typeof params.name !== "string") return undefined
  const name = params.name
  if (!toolNames.has(name)) return answer(id, new UnknownTool({ name }).message)
  const args = params.arguments
  if (args !== undefined && !isRecord(args)) {
    const refused = new InvalidParameters({
      issues: [{ field: "", message: "arguments must be an object of named parameters" }]
    })
    return answer(id, describeToolFailure(name, refused))
  }
  return undefined
}
