/**
 * @taskport/agent: the `AgentRunner` adapters (an OpenAI-compatible model, and an offline
 * command interpreter for when none is configured), a `ToolSource` over any MCP server, and
 * the OpenAI strict-mode variants of tool parameters.
 * Each is also its own entry point (`@taskport/agent/OfflineAgentRunner`, ...), so that an
 * application loads the OpenAI and MCP clients only when it uses them.
 */
export * as McpToolSource from "./McpToolSource.ts"
export * as ModelFetch from "./ModelFetch.ts"
export * as OfflineAgentRunner from "./OfflineAgentRunner.ts"
export * as OpenAiAgentRunner from "./OpenAiAgentRunner.ts"
export * as PlainDates from "./PlainDates.ts"
export * as StrictParameters from "./StrictParameters.ts"
