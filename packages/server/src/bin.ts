#!/usr/bin/env node
/**
 * The `taskport` command: parses the arguments, reads the configuration and hands one
 * command module to `Main.run`, which owns exit codes, failure messages and signals.
 */
import { parseArgs } from "node:util"
import { Effect } from "effect"
import * as Chat from "./commands/Chat.ts"
import * as Mcp from "./commands/Mcp.ts"
import * as Migrate from "./commands/Migrate.ts"
import * as Serve from "./commands/Serve.ts"
import * as Token from "./commands/Token.ts"
import * as Main from "./Main.ts"
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

const parse = () => {
  try {
    return parseArgs({
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
  } catch (error) {
    return Main.fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`, 2)
  }
}

const { positionals, values } = parse()
const [command = "serve", ...rest] = positionals

const commands = {
  serve: (config: ServerConfig.ServerConfig) => Serve.run(config),
  mcp: (config: ServerConfig.ServerConfig) => Mcp.run(config, values.user),
  migrate: (config: ServerConfig.ServerConfig) => Migrate.run(config),
  token: (config: ServerConfig.ServerConfig) => Token.run(config, rest[0], values.ttl),
  chat: (config: ServerConfig.ServerConfig) =>
    Chat.run(config, {
      url: values.url,
      conversationId: values.conversation,
      user: values.user,
      local: values.local
    })
}
const isCommand = (name: string): name is keyof typeof commands => Object.hasOwn(commands, name)

if (values.help || command === "help") {
  process.stdout.write(`${USAGE}\n`)
} else if (!isCommand(command)) {
  Main.fail(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`, 2)
} else {
  ServerConfig.loadDotEnv()
  const run: (config: ServerConfig.ServerConfig) => Effect.Effect<number, unknown> = commands[command]
  Main.run(Effect.flatMap(ServerConfig.load(), run))
}
