/**
 * Streamable HTTP for the MCP server: a web-standard `Request -> Response` handler built on
 * the SDK's stateless `createMcpHandler` (2026-07-28 clients and, through the legacy
 * stateless fallback, 2025-era clients). Before any JSON-RPC work it checks the Origin,
 * the body size and the bearer token with the same `Authenticator` as REST, answering 403,
 * 413 or 401 (with a challenge naming the protected-resource metadata) at the HTTP level.
 * Every answer carries an X-Request-Id (the caller's, when valid) and every request is
 * logged in the same one line as REST's, through the shared request log.
 */

import { AsyncLocalStorage } from "node:async_hooks"
import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  createMcpHandler,
  OAuthError,
  OAuthErrorCode,
  verifyBearerToken
} from "@modelcontextprotocol/server"
import {
  Authenticator,
  parseTimeZone,
  type RateLimitDecision,
  type RateLimiterShape,
  type RateLimitKind,
  retryMessage,
  type SettingsService,
  type TodoToolHandlers,
  type TodoToolName,
  UserId
} from "@taskport/core"
import { BodyReader, RateLimitHeaders, RequestLog } from "@taskport/http"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import type { ProtectedResourceOptions } from "./ProtectedResource.ts"
import * as ProtectedResource from "./ProtectedResource.ts"
import { type McpOptions, makeFactory, servedToolNames } from "./TodoMcpServer.ts"
import { screen } from "./ToolCallScreen.ts"

export interface McpHttpOptions extends McpOptions, ProtectedResourceOptions {
  /**
   * Browser origins allowed to call the endpoint, and the only ones: a page is never trusted
   * for sharing a host name with the request, which DNS rebinding arranges. Requests without
   * an Origin are not browsers.
   */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
  /**
   * Host names (without port) the endpoint answers to; a request whose Host names another is
   * refused with 403, so a rebound DNS name cannot reach a server on loopback. Unset: any.
   */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /** Limits requests per user and failed authentications per address (none: unlimited). */
  readonly rateLimiter?: RateLimiterShape | undefined
  /** Largest accepted request body in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number | undefined
  /** Receives one entry per request and one per unexpected failure (none: not logged). */
  readonly log?: RequestLog.Log | undefined
}

export interface McpHttpHandler {
  /** Serves one request to the MCP endpoint. */
  readonly fetch: (request: Request) => Promise<Response>
  /** Serves `/.well-known/oauth-protected-resource[/<path>]` (RFC 9728). */
  readonly metadata: (request: Request) => Response
  /** The path the metadata is served at for this endpoint. */
  readonly metadataPath: string
  readonly close: () => Promise<void>
}

/** The same 1 MiB limit as the REST API (the SDK's own default is larger). */
const MAX_BODY_BYTES = 1024 * 1024

const jsonError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", ...headers }
  })

const isUserId = Schema.is(UserId)

/** The id of a `tools/call` request, or undefined for anything else. */
const toolCallId = (message: unknown): string | number | undefined => {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return undefined
  const { method, id } = message as { method?: unknown; id?: unknown }
  return method === "tools/call" && (typeof id === "string" || typeof id === "number") ? id : undefined
}

/** The tool a single `tools/call` message names (screened already), or undefined for anything else. */
const calledTool = (message: unknown): string | undefined => {
  if (toolCallId(message) === undefined) return undefined
  const params = (message as { params?: unknown }).params
  const name = typeof params === "object" && params !== null ? (params as { name?: unknown }).name : undefined
  return typeof name === "string" ? name : undefined
}

/** The request's Host header name, lower-cased, without port or IPv6 brackets. */
const hostNameOf = (request: Request): string => {
  const host = request.headers.get("host") ?? new URL(request.url).host
  try {
    return new URL(`http://${host}`).hostname.toLowerCase().replace(/^\[|\]$/g, "")
  } catch {
    return ""
  }
}

/** Builds the endpoint over the services of the current context. */
export const make = (
  options: McpHttpOptions
): Effect.Effect<McpHttpHandler, never, Authenticator | TodoToolHandlers | SettingsService> =>
  Effect.gen(function* () {
    const authenticator = yield* Authenticator
    const log = options.log ?? (() => {})
    // The request a tool call belongs to, so a defect met inside the SDK is logged with its id.
    const current = new AsyncLocalStorage<RequestLog.RequestScope>()
    const factory = yield* makeFactory({
      ...options,
      onDefect: (cause) => {
        options.onDefect?.(cause)
        RequestLog.failure(log, current.getStore(), "unexpected MCP failure", Cause.pretty(cause))
      }
    })
    const limit = options.maxBodyBytes ?? MAX_BODY_BYTES
    const toolNames = servedToolNames(options)
    const limiter = options.rateLimiter
    const overLimit = async (kind: RateLimitKind, key: string): Promise<RateLimitDecision | undefined> => {
      if (limiter === undefined) return undefined
      const decision = await Effect.runPromise(limiter.consume(kind, key))
      return decision !== undefined && !decision.allowed ? decision : undefined
    }
    const limited = (decision: RateLimitDecision) =>
      jsonError(429, "rate_limited", retryMessage(decision), RateLimitHeaders.rateLimitHeaders(decision))
    const allowedOrigins = new Set(options.allowedOrigins ?? [])
    const allowedHosts =
      options.allowedHosts === undefined
        ? undefined
        : new Set(options.allowedHosts.map((host) => host.toLowerCase().replace(/^\[|\]$/g, "")))
    const resource = ProtectedResource.make(options)

    const handler = createMcpHandler(
      (context) => {
        const user = context.authInfo?.extra?.userId
        // The auth check below always sets it; refusing here keeps a wiring mistake from serving anyone.
        if (typeof user !== "string" || !isUserId(user))
          throw new Error("MCP request without a verified user")
        const { timeZone, userAgent, tool } = context.authInfo?.extra ?? {}
        return factory({
          user,
          timeZone: typeof timeZone === "string" ? timeZone : undefined,
          userAgent: typeof userAgent === "string" ? userAgent : undefined,
          tool: typeof tool === "string" && toolNames.has(tool) ? (tool as TodoToolName) : undefined
        })
      },
      { legacy: "stateless", responseMode: "auto" }
    )

    const verifier = {
      verifyAccessToken: async (token: string): Promise<AuthInfo> => {
        const exit = await Effect.runPromiseExit(authenticator.verify(`Bearer ${token}`))
        if (Exit.isFailure(exit)) {
          const error = Cause.findErrorOption(exit.cause)
          throw new OAuthError(
            OAuthErrorCode.InvalidToken,
            Option.isSome(error) ? error.value.message : "invalid token"
          )
        }
        // The SDK refuses a token without an expiry; the verified one always has one.
        return {
          token,
          clientId: "taskport",
          scopes: [],
          expiresAt: exit.value.expiresAt,
          extra: { userId: exit.value.user }
        }
      }
    }

    const serve = async (request: Request, scope: RequestLog.RequestScope): Promise<Response> => {
      const resourceMetadataUrl = resource.metadataUrl(request)
      if (allowedHosts !== undefined && !allowedHosts.has(hostNameOf(request))) {
        return jsonError(403, "forbidden", "This host name is not served here")
      }
      const origin = request.headers.get("origin")
      if (origin !== null && !allowedOrigins.has(origin)) {
        return jsonError(403, "forbidden", "This origin may not call the MCP endpoint")
      }
      let authInfo: AuthInfo
      try {
        authInfo = await verifyBearerToken(request.headers.get("authorization"), {
          verifier,
          resourceMetadataUrl
        })
      } catch (error) {
        const refused = await overLimit(
          "auth_failure",
          (request as Request & { ip?: string }).ip ?? "unknown"
        )
        if (refused !== undefined) return limited(refused)
        return bearerAuthChallengeResponse(error, { resourceMetadataUrl })
      }
      const user = authInfo.extra?.userId
      if (typeof user === "string") scope.user = user
      // A client that names itself in no request (a 2025-era stateless call) is known by its user agent.
      const userAgent = request.headers.get("user-agent")
      if (userAgent !== null) authInfo = { ...authInfo, extra: { ...authInfo.extra, userAgent } }
      // As over REST, X-Time-Zone names the zone while the user has stored none.
      const named = request.headers.get("x-time-zone")
      if (named !== null && named.trim() !== "") {
        const zone = parseTimeZone(named)
        if (Option.isNone(zone)) {
          return jsonError(
            400,
            "invalid_request",
            "x-time-zone: must be an IANA time zone such as Europe/Paris"
          )
        }
        authInfo = { ...authInfo, extra: { ...authInfo.extra, timeZone: zone.value } }
      }
      let parsedBody: unknown
      if (request.method === "POST") {
        const read = await Effect.runPromiseExit(BodyReader.readText(request, { limit }))
        if (Exit.isFailure(read)) {
          const error = Cause.findErrorOption(read.cause)
          return error._tag === "Some" && error.value._tag === "BodyTooLarge"
            ? jsonError(413, "payload_too_large", `Request bodies are limited to ${limit} bytes`)
            : jsonError(400, "invalid_request", "The request body could not be read")
        }
        if (read.value !== undefined) {
          try {
            parsedBody = JSON.parse(read.value)
          } catch {
            return new Response(
              JSON.stringify({
                jsonrpc: "2.0",
                id: null,
                error: { code: -32700, message: "Parse error: the body is not JSON" }
              }),
              { status: 400, headers: { "content-type": "application/json" } }
            )
          }
        }
      }
      if (typeof user === "string") {
        const refused = await overLimit("request", user)
        if (refused !== undefined) {
          // A tool call is answered as a tool error, which agents read and act on.
          const call = toolCallId(parsedBody)
          if (call === undefined) return limited(refused)
          return new Response(
            JSON.stringify({
              jsonrpc: "2.0",
              id: call,
              result: {
                resultType: "complete",
                isError: true,
                content: [{ type: "text", text: retryMessage(refused) }]
              }
            }),
            { headers: { "content-type": "application/json", ...RateLimitHeaders.rateLimitHeaders(refused) } }
          )
        }
      }
      const screened = screen(parsedBody, toolNames)
      if (screened !== undefined) {
        return new Response(JSON.stringify(screened), { headers: { "content-type": "application/json" } })
      }
      const tool = calledTool(parsedBody)
      if (tool !== undefined) authInfo = { ...authInfo, extra: { ...authInfo.extra, tool } }
      return current.run(scope, () =>
        handler.fetch(request, parsedBody === undefined ? { authInfo } : { authInfo, parsedBody })
      )
    }

    const fetch = RequestLog.logged(log, "/mcp", serve)

    return {
      fetch,
      metadata: resource.metadata,
      metadataPath: resource.metadataPath,
      close: () => handler.close()
    }
  })
