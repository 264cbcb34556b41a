/**
 * @taskport/mcp: the todo_* tools as an MCP server on the official TypeScript SDK v2, over
 * Streamable HTTP (stateless, any instance answers any request) and stdio.
 */
export * as McpHttp from "./McpHttp.ts"
export * as McpStdio from "./McpStdio.ts"
export * as TodoMcpServer from "./TodoMcpServer.ts"
