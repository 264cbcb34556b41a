/**
 * @taskport/server: the composition root of the deployable Taskport server and the
 * building blocks of the `taskport` command.
 */
export * as ChatCommand from "./ChatCommand.ts"
export * as Logging from "./Logging.ts"
export * as Server from "./Server.ts"
export * as ServerConfig from "./ServerConfig.ts"
