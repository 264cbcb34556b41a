/**
 * The composition root: everything the surfaces need, built once per process from the
 * configuration: the database (chosen in `Database`), the todo tools over it, the
 * authenticator, the chat service with its agent, the webhook use cases and sender, the
 * retention periods and the JSON logger.
 */
import { ChatService, Quotas, TodoToolsLayer, WebhookService } from "@taskport/core"
import { Layer } from "effect"
import * as Agent from "./Agent.ts"
import * as Announce from "./Announce.ts"
import * as Authentication from "./Authentication.ts"
import * as Database from "./Database.ts"
import * as Logging from "./Logging.ts"
import * as Retention from "./Retention.ts"
import type { ServerConfig } from "./ServerConfig.ts"
import * as Tracing from "./Tracing.ts"
import * as Webhooks from "./Webhooks.ts"

export interface LayerOptions {
  /** Apply pending migrations when the database opens (default true; a server's workers leave them to the primary). */
  readonly migrate?: boolean | undefined
}

export const layer = (
  config: ServerConfig,
  announce: Announce.Announce = Announce.stderr,
  options: LayerOptions = {}
) => {
  const quotas = Quotas.layer({
    tasksPerUser: config.quotaTasksPerUser,
    conversationsPerUser: config.quotaConversationsPerUser,
    messagesPerConversation: config.quotaMessagesPerConversation
  })
  const webhooks = WebhookService.layer.pipe(Layer.provideMerge(Webhooks.layer(config)))
  const todos = Layer.merge(TodoToolsLayer, webhooks).pipe(
    Layer.provideMerge(
      quotas.pipe(Layer.provideMerge(Database.layer(config, { announce, migrate: options.migrate })))
    )
  )
  return Layer.mergeAll(
    Authentication.layer(config),
    ChatService.layer({
      historyLimit: config.chatHistoryLimit,
      confirmDestructive: config.chatConfirmDestructive,
      dailyTokenBudget: config.chatDailyTokenBudget
    }).pipe(Layer.provideMerge(Layer.merge(todos, Agent.layer(config, announce)))),
    Logging.layer(config.logLevel),
    Retention.layer(config)
  ).pipe(Layer.provideMerge(Tracing.layer(config)))
}
