/**
 * @taskport/server: the composition root of the deployable Taskport server and the
 * building blocks of the `taskport` command.
 */
export * as Agent from "./Agent.ts"
export * as Announce from "./Announce.ts"
export * as AppLayer from "./AppLayer.ts"
export * as Authentication from "./Authentication.ts"
export * as ChatCommand from "./ChatCommand.ts"
export * as Database from "./Database.ts"
export * as Listener from "./Listener.ts"
export * as Logging from "./Logging.ts"
export * as Main from "./Main.ts"
export * as Retention from "./Retention.ts"
export * as Server from "./Server.ts"
export * as ServerConfig from "./ServerConfig.ts"
export * as Supervisor from "./Supervisor.ts"
