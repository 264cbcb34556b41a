/**
 * @taskport/core: the pure heart of Taskport. Domain schemas, errors, ports and the todo_*
 * use cases and toolkit; it depends on `effect` alone and knows no transport or database.
 */
export * from "./AgentRunner.ts"
export * from "./Authenticator.ts"
export * from "./Batch.ts"
export * from "./ChatService.ts"
export * from "./Conversation.ts"
export * from "./ConversationRepository.ts"
export * from "./CurrentUser.ts"
export * from "./Errors.ts"
export * from "./IdempotencyStore.ts"
export * from "./PendingActions.ts"
export * from "./Quotas.ts"
export * from "./RateLimiter.ts"
export * from "./SchemaIssues.ts"
export * from "./Task.ts"
export * from "./TaskRepository.ts"
export * from "./TodoService.ts"
export * from "./TodoToolSource.ts"
export * from "./TodoTools.ts"
export * from "./Traced.ts"
export * from "./Transactor.ts"
