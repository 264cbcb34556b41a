/**
 * The MCP tool source pointed at Taskport's own MCP endpoint over a real socket passes the
 * tool-source conformance suite, as the core's in-process source does: an agent gets the
 * same tools and the same behaviour whichever way it reaches them.
 */
import { McpToolSource } from "@taskport/agent"
import { PgDatabase } from "@taskport/postgres"
import { servicesLayer } from "@taskport/test-support/RestHarness"
import { serveMcp } from "@taskport/test-support/TaskportMcp"
import { ToolSourcesUnderTest, toolSourceSuite } from "@taskport/test-support/ToolSourceConformance"
import { Effect, Layer } from "effect"

toolSourceSuite(
  "the MCP tool source against Taskport's /mcp",
  Layer.effect(
    ToolSourcesUnderTest,
    Effect.gen(function* () {
      const mcp = yield* serveMcp
      return {
        forUser: (user: string) =>
          Effect.gen(function* () {
            const token = yield* mcp.tokenFor(user)
            return yield* McpToolSource.make({ url: mcp.url, token })
          })
      }
    })
  ).pipe(Layer.provide(servicesLayer(PgDatabase.layerPglite())))
)
