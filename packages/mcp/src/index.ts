/**
 * @taskport/mcp: the todo_* tools as an MCP server on the official TypeScript SDK v2, over
 * Streamable HTTP (stateless, any instance answers any request) and stdio. Each module is
 * also its own entry point (`@taskport/mcp/ProtectedResource`, ...), so that an application
 * can answer discovery and load the SDK only when MCP is first used.
 */
export * as CompactResults from "./CompactResults.ts"
export * as McpHttp from "./McpHttp.ts"
export * as McpStdio from "./McpStdio.ts"
export * as ProtectedResource from "./ProtectedResource.ts"
export * as TodoMcpServer from "./TodoMcpServer.ts"
export * as TodoPrompts from "./TodoPrompts.ts"
