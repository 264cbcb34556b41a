/**
 * A `ToolSource` over any MCP server reached by Streamable HTTP, through the official SDK
 * client. It is made per turn, for one user: it connects with that user's bearer token (sent
 * on every request), lists the tools once, and closes when the turn's scope ends, so no tool
 * list or connection is ever shared between users or turns.
 */
import { Client, type FetchLike, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import type { JsonSchemaObject, ToolDefinition, ToolOutcome, ToolSource } from "@taskport/core"
import { Effect, Redacted, Schema, type Scope } from "effect"

/** The MCP server could not be used: unreachable, the token refused, or not speaking MCP. */
export class McpToolSourceError extends Schema.TaggedError<McpToolSourceError>()("McpToolSourceError", {
  reason: Schema.Literals(["unreachable", "unauthorized", "protocol"])
}) {
  override get message(): string {
    switch (this.reason) {
      case "unauthorized":
        return "The tool server refused the credentials"
      case "protocol":
        return "The tool server did not answer as an MCP server"
      default:
        return "The tool server could not be reached"
    }
  }
}

export interface McpToolSourceOptions {
  /** The MCP endpoint, e.g. https://tasks.example.com/mcp. */
  readonly url: string | URL
  /** The current user's bearer token, sent on every request. */
  readonly token: Redacted.Redacted<string> | string
  /** Another fetch, e.g. to reach an in-process handler. */
  readonly fetch?: FetchLike | undefined
  readonly clientName?: string | undefined
}

const classify = (error: unknown): McpToolSourceError => {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error)
  if (/\b401\b|unauthori[sz]ed|invalid_token/i.test(text))
    return new McpToolSourceError({ reason: "unauthorized" })
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|socket|network/i.test(text)) {
    return new McpToolSourceError({ reason: "unreachable" })
  }
  return new McpToolSourceError({ reason: "protocol" })
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

interface ContentBlock {
  readonly type: string
  readonly text?: string
}

/** The text blocks of a result; a single JSON text is read as JSON so the model gets data. */
const textOf = (content: ReadonlyArray<ContentBlock>): unknown => {
  const text = content
    .flatMap((block) => (block.type === "text" && typeof block.text === "string" ? [block.text] : []))
    .join("\n")
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Connects to the server and lists its tools (once). Failing calls come back as `is_error`
 * outcomes: an MCP error result with its text, an unreachable server with a generic line.
 */
export const make = (
  options: McpToolSourceOptions
): Effect.Effect<ToolSource, McpToolSourceError, Scope.Scope> =>
  Effect.gen(function* () {
    const token = typeof options.token === "string" ? options.token : Redacted.value(options.token)
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new Client({ name: options.clientName ?? "taskport-agent", version: "0.1.0" })
          const transport = new StreamableHTTPClientTransport(new URL(options.url), {
            authProvider: { token: async () => token },
            ...(options.fetch === undefined ? {} : { fetch: options.fetch })
          })
          await client.connect(transport)
          return client
        },
        catch: classify
      }),
      (client) => Effect.promise(() => client.close().catch(() => undefined))
    )
    const listed = yield* Effect.tryPromise({ try: () => client.listTools(), catch: classify })
    const tools: ReadonlyArray<ToolDefinition> = listed.tools.map((tool) => ({
      name: tool.name,
      description: tool.description ?? tool.title ?? tool.name,
      parameters: tool.inputSchema as JsonSchemaObject
    }))

    const call = (name: string, args: unknown): Effect.Effect<ToolOutcome> => {
      if (!isRecord(args)) {
        return Effect.succeed({ result: "Invalid arguments: send a JSON object", is_error: true })
      }
      return Effect.tryPromise({
        try: (signal) => client.callTool({ name, arguments: args }, { signal }),
        catch: (error) => error
      }).pipe(
        Effect.map(
          (result): ToolOutcome => ({
            result:
              result.isError !== true && result.structuredContent !== undefined
                ? result.structuredContent
                : textOf(result.content as ReadonlyArray<ContentBlock>),
            is_error: result.isError === true
          })
        ),
        Effect.catch((error) => {
          // A JSON-RPC error (unknown tool, invalid params) carries a message meant for the caller.
          const message =
            isRecord(error) && typeof error.code === "number" && typeof error.message === "string"
              ? error.message
              : classify(error).message
          return Effect.succeed<ToolOutcome>({ result: message, is_error: true })
        })
      )
    }

    // Each call is a span of its own, so a trace shows the remote tool under the model's turn.
    return {
      tools,
      call: (name: string, args: unknown) =>
        Effect.withSpan(call(name, args), "McpToolSource.call", { captureStackTrace: false })
    }
  })
