/**
 * `taskport mcp`: the MCP server on stdin/stdout for the user of TASKPORT_TOKEN, or, in dev
 * mode only, for the user named with --user. Runs until the client closes the input and every
 * call it sent is answered, or the process is told to stop.
 */
import { Authenticator, UserId } from "@taskport/core"
import { Cause, Data, Effect, Option, Redacted } from "effect"
import * as Announce from "../Announce.ts"
import * as AppLayer from "../AppLayer.ts"
import * as Authentication from "../Authentication.ts"
import * as Logging from "../Logging.ts"
import type { ServerConfig } from "../ServerConfig.ts"

export class StdioIdentityMissing extends Data.TaggedError("StdioIdentityMissing")<{
  readonly message: string
}> {}

/** The user the stdio server acts for: from the token, else the dev-mode --user. */
const identify = (config: ServerConfig, devUser: string | undefined) =>
  Effect.gen(function* () {
    const authenticator = yield* Authenticator
    return yield* Option.match(config.taskportToken, {
      onSome: (token) => authenticator.authenticate(`Bearer ${Redacted.value(token)}`),
      onNone: () => {
        if (devUser !== undefined && Authentication.isDevMode(config)) {
          return Effect.succeed(UserId.make(devUser))
        }
        return Effect.fail(
          new StdioIdentityMissing({
            message: Authentication.isDevMode(config)
              ? "taskport mcp needs TASKPORT_TOKEN, or --user <id> in dev mode"
              : "taskport mcp needs TASKPORT_TOKEN (a bearer token for the user to act as)"
          })
        )
      }
    })
  })

export const run = (
  config: ServerConfig,
  devUser: string | undefined,
  announce: Announce.Announce = Announce.stderr
) =>
  Effect.gen(function* () {
    const user = yield* identify(config, devUser)
    const McpStdio = yield* Effect.promise(() => import("@taskport/mcp/McpStdio"))
    const log = Logging.makeLog(config.logLevel)
    const server = yield* Effect.acquireRelease(
      McpStdio.serve(user, {
        readOnly: config.mcpReadOnly,
        onDefect: (cause) =>
          log({ level: "error", msg: "unexpected MCP failure", cause: Cause.pretty(cause) })
      }),
      (handle) => Effect.promise(() => handle.close())
    )
    announce(`Taskport MCP server on stdio for user ${user}`)
    // Calls read before the input ended are finished and answered first.
    yield* Effect.promise(() => server.finished)
    return 0
  }).pipe(Effect.scoped, Effect.provide(AppLayer.layer(config, announce)))
