/**
 * @taskport/core: the pure heart of Taskport. Domain schemas, errors, ports and the todo_*
 * use cases and toolkit; it depends on `effect` alone and knows no transport or database.
 */
export * from "./AgentRunner.ts"
export * from "./Authenticator.ts"
export * from "./ChatService.ts"
export * from "./Conversation.ts"
export * from "./ConversationRepository.ts"
export * from "./CurrentUser.ts"
export * from "./DueViews.ts"
export * from "./Errors.ts"
export * from "./LocalNow.ts"
export * from "./Recurrence.ts"
export * from "./SchemaIssues.ts"
export * from "./Settings.ts"
export * from "./Task.ts"
export * from "./TaskRepository.ts"
export * from "./TodoService.ts"
export * from "./TodoToolSource.ts"
export * from "./TodoTools.ts"
export * from "./Traced.ts"
