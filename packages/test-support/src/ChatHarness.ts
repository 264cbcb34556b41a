/**
 * The chat use cases over a test database with a chosen agent runner (the offline
 * interpreter unless told otherwise), plus small helpers to act as a user and to read what
 * the database holds afterwards.
 */
import { OfflineAgentRunner } from "@taskport/agent"
import {
  type AgentRunner,
  type ChatOptions,
  ChatService,
  type ChatTurnParams,
  CurrentUser,
  type Task,
  TodoService,
  TodoToolsLayer,
  type UserId
} from "@taskport/core"
import type { PgDatabase } from "@taskport/postgres"
import { Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"

export type DatabaseLayer = Layer.Layer<PgDatabase.Persistence | SqlClient.SqlClient, unknown>

/** TodoService, the todo tool handlers and ChatService over the database. */
export const chatLayer = (
  database: DatabaseLayer,
  runner: Layer.Layer<AgentRunner> = OfflineAgentRunner.layer,
  options: ChatOptions = {}
) => {
  const todos = TodoToolsLayer.pipe(Layer.provideMerge(database))
  return ChatService.layer(options).pipe(Layer.provideMerge(Layer.merge(todos, runner)))
}

export const as =
  (id: UserId) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, CurrentUser, { id })

export const turn = (params: ChatTurnParams) =>
  Effect.gen(function* () {
    return yield* (yield* ChatService).turn(params)
  })

/** Every task of the current user, oldest first. */
export const allTasks = Effect.gen(function* () {
  const page = yield* (yield* TodoService).list({ sort: "created_at", order: "asc", limit: 100 })
  return page.items as ReadonlyArray<Task>
})

export const createTask = (title: string) =>
  Effect.gen(function* () {
    return yield* (yield* TodoService).create({ title })
  })

/** Every message of a conversation, in order. */
export const allMessages = (conversationId: string) =>
  Effect.gen(function* () {
    return (yield* (yield* ChatService).listMessages(conversationId, { limit: 100 })).items
  })
