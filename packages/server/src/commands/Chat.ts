/**
 * `taskport chat`: the terminal chat (`ChatCommand`) against a running server, or with
 * --local against a server this process runs on a free local port for the session.
 */
import { TokenMinter } from "@taskport/auth"
import { Effect, Option, Redacted } from "effect"
import * as Announce from "../Announce.ts"
import * as AppLayer from "../AppLayer.ts"
import * as Authentication from "../Authentication.ts"
import * as ChatCommand from "../ChatCommand.ts"
import * as Server from "../Server.ts"
import type { ServerConfig } from "../ServerConfig.ts"

export interface ChatOptions {
  readonly url?: string | undefined
  readonly conversationId?: string | undefined
  /** The user to chat as in dev mode, without TASKPORT_TOKEN (default demo). */
  readonly user?: string | undefined
  readonly local?: boolean | undefined
}

/** TASKPORT_TOKEN, or in dev mode a fresh token for the named user. */
const tokenFor = (config: ServerConfig, user: string | undefined) =>
  Option.match(config.taskportToken, {
    onSome: (token) => Effect.succeed<string | undefined>(String(Redacted.value(token))),
    onNone: () => {
      if (!Authentication.isDevMode(config)) return Effect.succeed(undefined)
      const secret = Option.getOrThrow(Authentication.signingSecret(config))
      return Effect.promise(() =>
        TokenMinter.mintToken({ secret, subject: user ?? "demo", ttlSeconds: 3600 })
      )
    }
  })

/** Served in process for as long as the chat runs, quietly: log lines would interleave with it. */
const local = (config: ServerConfig, announce: Announce.Announce) => {
  const quiet = config.logLevel === "debug" || config.logLevel === "info" ? "warn" : config.logLevel
  const session = { ...config, port: 0, host: "127.0.0.1", logLevel: quiet } as const
  return <A, E, R>(use: (url: string) => Effect.Effect<A, E, R>) =>
    Server.serve(session).pipe(
      Effect.flatMap(({ url }) => use(url)),
      Effect.scoped,
      Effect.provide(AppLayer.layer(session, announce))
    )
}

/** Resolves to the chat's exit code. */
export const run = (
  config: ServerConfig,
  options: ChatOptions,
  announce: Announce.Announce = Announce.stderr
) =>
  Effect.gen(function* () {
    const token = yield* tokenFor(config, options.user)
    const chat = (url: string) =>
      Effect.promise(() =>
        ChatCommand.runChat({
          url,
          token,
          conversationId: options.conversationId,
          input: process.stdin,
          output: process.stdout
        })
      )
    return options.local === true
      ? yield* local(config, announce)(chat)
      : yield* chat(options.url ?? `http://${config.host}:${config.port}`)
  })
