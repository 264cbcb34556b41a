/**
 * @taskport/postgres: Taskport's persistence on Postgres (`@effect/sql-pg`) or embedded
 * PGlite, with its migrations and the SQL repositories behind the core's ports.
 */
export * from "./Migrations.ts"
export * as OwnerFence from "./OwnerFence.ts"
export * as PgConversationRepository from "./PgConversationRepository.ts"
export * as PgDatabase from "./PgDatabase.ts"
export * as PgDeliveryQueue from "./PgDeliveryQueue.ts"
export * as PgEventCursors from "./PgEventCursors.ts"
export * as PgEventFeed from "./PgEventFeed.ts"
export * as PgEventLog from "./PgEventLog.ts"
export * as PgIdempotencyStore from "./PgIdempotencyStore.ts"
export * as PgliteClient from "./PgliteClient.ts"
export * as PgPendingActionRepository from "./PgPendingActionRepository.ts"
export * as PgQuotaCounts from "./PgQuotaCounts.ts"
export * as PgSettingsRepository from "./PgSettingsRepository.ts"
export * as PgTaskRepository from "./PgTaskRepository.ts"
export * as PgTransactor from "./PgTransactor.ts"
export * as PgWebhookRepository from "./PgWebhookRepository.ts"
export { toRepositoryError } from "./SqlSupport.ts"
