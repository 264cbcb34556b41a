#!/usr/bin/env node
/**
 * The `taskport` command. Parses arguments, reads the configuration and runs one command;
 * every failure ends with a one-line message (naming the variable or directory at fault)
 * and a non-zero exit code, never a stack trace.
 */
import { parseArgs } from "node:util"
import { TokenMinter } from "@taskport/auth"
import { Cause, Effect, Exit, Option, Redacted } from "effect"
import * as ChatCommand from "./ChatCommand.ts"
import * as Server from "./Server.ts"
import * as ServerConfig from "./ServerConfig.ts"

const USAGE = `Usage: taskport <command> [options]

Commands:
  serve                     Apply migrations and serve the REST API (default)
  migrate                   Apply pending database migrations and exit
  mcp [--user <id>]         Serve the MCP tools on stdio for TASKPORT_TOKEN's user
                            (--user only in dev mode, without any auth configuration)
  token <user> [--ttl 1h]   Print a signed HS256 token for <user> (development)
  chat [--url <base>] [--conversation <id>] [--local]
                            Chat with a running server's agent in the terminal, as
                            TASKPORT_TOKEN's user (dev mode: as --user, default demo);
                            --local runs the agent in this process instead
  help                      Show this text

Configuration comes from the environment and an optional .env file; see the README.`

const fail = (message: string, code = 1): never => {
  process.stderr.write(`taskport: ${message}\n`)
  process.exit(code)
}

/** A failure's message for a person: the error's own text, never a stack trace. */
const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const value = error.value
    return typeof value === "object" && value !== null && "message" in value
      ? String(value.message)
      : String(value)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "unexpected failure"
}

const run = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  return fail(describe(exit.cause))
}

const main = async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      ttl: { type: "string", default: "1h" },
      user: { type: "string" },
      url: { type: "string" },
      conversation: { type: "string" },
      local: { type: "boolean" },
      help: { type: "boolean", short: "h" }
    },
    strict: true
  })
  const [command = "serve", ...rest] = positionals
  if (values.help || command === "help") {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  ServerConfig.loadDotEnv()
  const config = await run(
    ServerConfig.read().pipe(
      Effect.mapError((error) => `invalid configuration: ${ServerConfig.describeError(error)}`)
    )
  )
  switch (command) {
    case "serve":
      await run(Server.serve(config))
      process.exit(0)
      break
    case "mcp":
      await run(Server.serveStdio(config, values.user))
      process.exit(0)
      break
    case "chat": {
      let token = Option.getOrUndefined(Option.map(config.taskportToken, (t) => String(Redacted.value(t))))
      if (token === undefined && Server.isDevMode(config)) {
        const secret = Option.getOrThrow(Server.signingSecret(config))
        token = await TokenMinter.mintToken({ secret, subject: values.user ?? "demo", ttlSeconds: 3600 })
      }
      const chat = (url: string) =>
        ChatCommand.runChat({
          url,
          token,
          conversationId: values.conversation,
          input: process.stdin,
          output: process.stdout
        })
      const code = values.local
        ? await run(Server.serveWhile(config, chat))
        : await chat(values.url ?? `http://${config.host}:${config.port}`)
      process.exit(code)
      break
    }
    case "migrate":
      await run(Server.runMigrations(config))
      break
    case "token": {
      const user = rest[0]
      if (user === undefined) fail("token needs a user id: taskport token <user> [--ttl 1h]", 2)
      const secret = Option.getOrUndefined(Server.signingSecret(config))
      if (secret === undefined) {
        fail("token needs BETTER_AUTH_SECRET (tokens from a key set are issued by Better Auth itself)", 2)
      }
      let ttlSeconds = 0
      try {
        ttlSeconds = TokenMinter.parseTtl(values.ttl)
      } catch (error) {
        fail(error instanceof Error ? error.message : "invalid --ttl", 2)
      }
      const token = await TokenMinter.mintToken({
        secret: secret!,
        subject: user!,
        ttlSeconds,
        issuer: Option.getOrUndefined(config.issuer),
        audience: Option.getOrUndefined(config.audience)
      }).catch((error: unknown) => fail(error instanceof Error ? error.message : "cannot mint the token"))
      process.stdout.write(`${token}\n`)
      break
    }
    default:
      fail(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`, 2)
  }
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)))
