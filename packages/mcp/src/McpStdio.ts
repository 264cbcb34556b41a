/**
 * MCP over stdio for one user (Claude Desktop and other local clients): stdout carries only
 * JSON-RPC messages, so everything else this process says must go to stderr.
 */
import { type StdioServerHandle, serveStdio } from "@modelcontextprotocol/server/stdio"
import type { SettingsService, TodoToolHandlers, UserId } from "@taskport/core"
import { Effect } from "effect"
import { type McpOptions, makeFactory } from "./TodoMcpServer.ts"

/** Serves the tools for `user` on this process's stdin/stdout until the input closes. */
export const serve = (
  user: UserId,
  options: McpOptions = {}
): Effect.Effect<StdioServerHandle, never, TodoToolHandlers | SettingsService> =>
  Effect.map(makeFactory(options), (factory) => serveStdio(() => factory(user)))
