/**
 * @taskport/http: HTTP plumbing shared by Taskport's surfaces, so REST and MCP read bodies,
 * name requests and log them the same way without depending on each other.
 */
export * as BodyReader from "./BodyReader.ts"
export * as RateLimitHeaders from "./RateLimitHeaders.ts"
export * as RequestLog from "./RequestLog.ts"
