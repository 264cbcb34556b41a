/**
 * Taskport's configuration: the only place that reads the environment (and an optional
 * `.env` file). Every value is decoded with Effect `Config`, so a bad value stops start-up
 * with a message naming the variable.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { DEFAULT_QUOTAS } from "@taskport/core"
import { Config, ConfigProvider, Data, Effect, Option, type Redacted, Schema } from "effect"

export type LogLevel = "debug" | "info" | "warn" | "error"

export interface ServerConfig {
  readonly port: number
  readonly host: string
  readonly databaseUrl: Option.Option<Redacted.Redacted>
  /** Connections each server process keeps (every worker has a pool of its own). */
  readonly databasePoolSize: number
  /** Server processes `taskport serve` runs (`WEB_CONCURRENCY`; `auto` resolved to the cores). */
  readonly webConcurrency: number
  /** Longest a client may take to send a whole request. */
  readonly requestTimeoutMs: number
  readonly dataDir: string
  readonly authSecret: Option.Option<Redacted.Redacted>
  readonly jwksUrl: Option.Option<URL>
  readonly issuer: Option.Option<string>
  readonly audience: Option.Option<string>
  readonly betterAuthUrl: Option.Option<URL>
  readonly corsOrigins: ReadonlyArray<string>
  readonly logLevel: LogLevel
  /** The URL clients reach this server at, when it differs from what requests show (proxies). */
  readonly publicUrl: Option.Option<URL>
  /** Serve only the read-only MCP tools. */
  readonly mcpReadOnly: boolean
  /** The bearer token `taskport mcp` acts with. */
  readonly taskportToken: Option.Option<Redacted.Redacted>
  readonly openAiApiKey: Option.Option<Redacted.Redacted>
  readonly openAiBaseUrl: Option.Option<string>
  readonly openAiModel: Option.Option<string>
  readonly openAiApi: "chat" | "responses"
  readonly openAiTimeoutMs: number
  readonly openAiMaxSteps: number
  readonly openAiMaxRetries: number
  /**
   * Node is told to send requests through the environment's proxy (`NODE_USE_ENV_PROXY=1` or
   * `--use-env-proxy`): model requests then go through the platform's `fetch`, which does.
   */
  readonly useEnvProxy: boolean
  /** How many recent messages a chat turn gives the agent. */
  readonly chatHistoryLimit: number
  /** How long a deleted task stays in the trash before the sweep removes it. */
  readonly trashRetentionDays: number
  /** How long an idempotency key's first answer is replayed. */
  readonly idempotencyKeyTtlHours: number
  /** How long task events (history, stream replay) are kept. */
  readonly eventRetentionDays: number
  /** Webhooks may point to internal addresses (local development and tests only). */
  readonly webhookAllowPrivate: boolean
  /** The longest one delivery attempt may take. */
  readonly webhookTimeoutMs: number
  /** The wait after a first failed attempt; it doubles after each later one, up to the max. */
  readonly webhookRetryFirstDelayMs: number
  readonly webhookRetryMaxDelayMs: number
  /** How long after being queued a delivery is still retried. */
  readonly webhookRetryHours: number
  /** An endpoint whose every attempt failed for this long is disabled. */
  readonly webhookDisableAfterHours: number
  /** An endpoint with this many deliveries in a row given up is disabled. */
  readonly webhookDisableAfterGiveUps: number
  /** How often the background workers look for work when no notification woke them. */
  readonly webhookPollMs: number
  /** How long a claimed delivery is held before another process may take it over. */
  readonly webhookLeaseMs: number
  /** When set, task events are also published to this NATS server's JetStream. */
  readonly natsUrl: Option.Option<string>
  readonly natsStream: string
  /** How often an idle event stream sends a heartbeat comment. */
  readonly eventStreamHeartbeatMs: number
  /** Events queued for a slow stream reader before the stream stops reading ahead. */
  readonly eventStreamBuffer: number
  /** How often the reminder worker looks for reminders that have come. */
  readonly reminderPollMs: number
  /** Whether chat asks before destructive calls. */
  readonly chatConfirmDestructive: boolean
  /** Requests per user and minute on REST and MCP (0: unlimited). */
  readonly rateLimitPerMinute: number
  /** Chat turns per user and minute (0: unlimited). */
  readonly chatRateLimitPerMinute: number
  /** Failed authentications per client address and minute (0: unlimited). */
  readonly authFailureRateLimitPerMinute: number
  /** Where rate-limit counters are shared between instances; unset: in this process. */
  readonly redisUrl: Option.Option<Redacted.Redacted>
  /**
   * Whether spans are exported over OTLP: an endpoint is configured the OpenTelemetry way
   * and the SDK is not disabled. Without it no span is made at all.
   */
  readonly tracesExported: boolean
  /** Prefix of the rate-limit keys in Redis, so that deployments sharing one Redis stay apart. */
  readonly redisKeyPrefix: string
  /** Model tokens per user and UTC day (0: unlimited, the default). */
  readonly chatDailyTokenBudget: number
  /** Model tokens one chat turn may use (0: unlimited). */
  readonly chatMaxTokensPerTurn: number
  /** Quotas (0: none). */
  readonly quotaTasksPerUser: number
  readonly quotaConversationsPerUser: number
  readonly quotaMessagesPerConversation: number
}

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** An integer setting within its limits, with its default; a value outside them names the variable. */
const intBetween = (name: string, minimum: number, maximum: number, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })), name).pipe(
    Config.withDefault(fallback)
  )

/** A base URL as Better Auth writes it into `iss` and `aud`: without a trailing slash. */
const baseUrlText = (url: URL): string => url.href.replace(/\/$/, "")

export const config: Config.Config<ServerConfig> = Config.all({
  // 0 asks the system for a free port, which tests and supervisors rely on.
  port: intBetween("PORT", 0, 65535, 8787),
  host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1")),
  databaseUrl: Config.option(Config.Redacted("DATABASE_URL")),
  databasePoolSize: Config.Int("DATABASE_POOL_SIZE").pipe(Config.withDefault(10)),
  webConcurrency: Config.schema(
    Schema.Union([Schema.Literal("auto"), Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1024 }))]),
    "WEB_CONCURRENCY"
  ).pipe(
    Config.withDefault<"auto" | number>(1),
    Config.map((value) => (value === "auto" ? Os.availableParallelism() : value))
  ),
  requestTimeoutMs: Config.Int("REQUEST_TIMEOUT_MS").pipe(Config.withDefault(30_000)),
  dataDir: Config.String("TASKPORT_DATA_DIR").pipe(Config.withDefault(".taskport")),
  authSecret: Config.option(Config.Redacted("BETTER_AUTH_SECRET")),
  jwksUrl: Config.option(Config.URL("BETTER_AUTH_JWKS_URL")),
  betterAuthUrl: Config.option(Config.URL("BETTER_AUTH_URL")),
  issuer: Config.option(Config.String("BETTER_AUTH_ISSUER")),
  audience: Config.option(Config.String("BETTER_AUTH_AUDIENCE")),
  corsOrigins: Config.String("CORS_ORIGINS").pipe(
    Config.map((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter((origin) => origin !== "")
    ),
    Config.withDefault(["http://localhost:3000"])
  ),
  logLevel: Config.Literals(["debug", "info", "warn", "error"], "LOG_LEVEL").pipe(
    Config.withDefault("info" as const)
  ),
  publicUrl: Config.option(Config.URL("PUBLIC_URL")),
  mcpReadOnly: Config.Boolean("MCP_READ_ONLY").pipe(Config.withDefault(false)),
  taskportToken: Config.option(Config.Redacted("TASKPORT_TOKEN")),
  openAiApiKey: Config.option(Config.Redacted("OPENAI_API_KEY")),
  openAiBaseUrl: Config.option(Config.String("OPENAI_BASE_URL")),
  openAiModel: Config.option(Config.String("OPENAI_MODEL")),
  openAiApi: Config.Literals(["chat", "responses"], "OPENAI_API").pipe(Config.withDefault("chat" as const)),
  openAiTimeoutMs: Config.Int("OPENAI_TIMEOUT_MS").pipe(Config.withDefault(60_000)),
  openAiMaxSteps: intBetween("OPENAI_MAX_STEPS", 1, 50, 8),
  openAiMaxRetries: intBetween("OPENAI_MAX_RETRIES", 0, 10, 2),
  // Read as Node reads it: "1" turns it on, anything else leaves it off.
  useEnvProxy: Config.String("NODE_USE_ENV_PROXY").pipe(
    Config.withDefault(""),
    Config.map((value) => value === "1" || process.execArgv.includes("--use-env-proxy"))
  ),
  chatHistoryLimit: intBetween("CHAT_HISTORY_LIMIT", 1, 500, 30),
  trashRetentionDays: intBetween("TRASH_RETENTION_DAYS", 1, 3650, 30),
  idempotencyKeyTtlHours: intBetween("IDEMPOTENCY_KEY_TTL_HOURS", 1, 8760, 24),
  eventRetentionDays: intBetween("EVENT_RETENTION_DAYS", 1, 3650, 30),
  webhookAllowPrivate: Config.Boolean("WEBHOOK_ALLOW_PRIVATE").pipe(Config.withDefault(false)),
  webhookTimeoutMs: intBetween("WEBHOOK_TIMEOUT_MS", 100, 60_000, 10_000),
  webhookRetryFirstDelayMs: intBetween("WEBHOOK_RETRY_FIRST_DELAY_MS", 10, 3_600_000, 5_000),
  webhookRetryMaxDelayMs: intBetween("WEBHOOK_RETRY_MAX_DELAY_MS", 10, 86_400_000, 7_200_000),
  webhookRetryHours: intBetween("WEBHOOK_RETRY_HOURS", 1, 720, 24),
  webhookDisableAfterHours: intBetween("WEBHOOK_DISABLE_AFTER_HOURS", 1, 720, 24),
  webhookDisableAfterGiveUps: intBetween("WEBHOOK_DISABLE_AFTER_GIVE_UPS", 1, 10_000, 5),
  webhookPollMs: intBetween("WEBHOOK_POLL_MS", 20, 600_000, 1_000),
  webhookLeaseMs: intBetween("WEBHOOK_LEASE_MS", 500, 3_600_000, 60_000),
  natsUrl: Config.option(Config.String("NATS_URL")),
  natsStream: Config.schema(
    Schema.String.check(
      Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/, { message: "must be 1 to 64 letters, digits, - or _" })
    ),
    "NATS_STREAM"
  ).pipe(Config.withDefault("TASKPORT_EVENTS")),
  eventStreamHeartbeatMs: intBetween("EVENT_STREAM_HEARTBEAT_MS", 10, 3_600_000, 15_000),
  eventStreamBuffer: intBetween("EVENT_STREAM_BUFFER", 1, 10_000, 100),
  reminderPollMs: intBetween("REMINDER_POLL_MS", 20, 600_000, 5_000),
  chatConfirmDestructive: Config.Boolean("CHAT_CONFIRM_DESTRUCTIVE").pipe(Config.withDefault(true)),
  rateLimitPerMinute: Config.schema(NonNegativeInt, "RATE_LIMIT_PER_MINUTE").pipe(Config.withDefault(100)),
  chatRateLimitPerMinute: Config.schema(NonNegativeInt, "CHAT_RATE_LIMIT_PER_MINUTE").pipe(
    Config.withDefault(20)
  ),
  authFailureRateLimitPerMinute: Config.schema(NonNegativeInt, "AUTH_FAILURE_RATE_LIMIT_PER_MINUTE").pipe(
    Config.withDefault(30)
  ),
  redisUrl: Config.option(Config.Redacted("REDIS_URL")),
  tracesExported: Config.all({
    disabled: Config.Boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
    endpoint: Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT")),
    tracesEndpoint: Config.option(Config.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
    exporters: Config.String("OTEL_TRACES_EXPORTER").pipe(Config.withDefault("otlp"))
  }).pipe(
    Config.map(
      ({ disabled, endpoint, tracesEndpoint, exporters }) =>
        !disabled &&
        (Option.isSome(endpoint) || Option.isSome(tracesEndpoint)) &&
        exporters.split(",").some((name) => name.trim() === "otlp")
    )
  ),
  redisKeyPrefix: Config.schema(
    Schema.String.check(
      Schema.isPattern(/^[A-Za-z0-9_.:-]{1,64}$/, { message: "must be 1 to 64 letters, digits, or . : - _" })
    ),
    "REDIS_KEY_PREFIX"
  ).pipe(Config.withDefault("taskport")),
  chatDailyTokenBudget: Config.schema(NonNegativeInt, "CHAT_DAILY_TOKEN_BUDGET").pipe(Config.withDefault(0)),
  chatMaxTokensPerTurn: Config.schema(NonNegativeInt, "CHAT_MAX_TOKENS_PER_TURN").pipe(
    Config.withDefault(100_000)
  ),
  quotaTasksPerUser: Config.schema(NonNegativeInt, "QUOTA_TASKS_PER_USER").pipe(
    Config.withDefault(DEFAULT_QUOTAS.tasksPerUser)
  ),
  quotaConversationsPerUser: Config.schema(NonNegativeInt, "QUOTA_CONVERSATIONS_PER_USER").pipe(
    Config.withDefault(DEFAULT_QUOTAS.conversationsPerUser)
  ),
  quotaMessagesPerConversation: Config.schema(NonNegativeInt, "QUOTA_MESSAGES_PER_CONVERSATION").pipe(
    Config.withDefault(DEFAULT_QUOTAS.messagesPerConversation)
  )
}).pipe(
  Config.map(({ betterAuthUrl, ...rest }) => ({
    ...rest,
    betterAuthUrl,
    // Better Auth issues its tokens with iss and aud both set to its base URL.
    issuer: Option.orElse(rest.issuer, () => Option.map(betterAuthUrl, baseUrlText)),
    audience: Option.orElse(rest.audience, () => Option.map(betterAuthUrl, baseUrlText)),
    // Better Auth serves its key set under its base URL unless one is named explicitly.
    jwksUrl: Option.orElse(rest.jwksUrl, () =>
      Option.map(betterAuthUrl, (base) => new URL(`${base.pathname.replace(/\/$/, "")}/api/auth/jwks`, base))
    )
  }))
)

/** Loads `.env` from the working directory into the environment, never overriding what is set. */
export const loadDotEnv = (cwd = process.cwd()): void => {
  const file = Path.join(cwd, ".env")
  if (!Fs.existsSync(file)) return
  const before = { ...process.env }
  process.loadEnvFile(file)
  for (const [key, value] of Object.entries(before)) process.env[key] = value
}

/** Reads the configuration from the environment. */
export const read = (env: NodeJS.ProcessEnv = process.env) => {
  const defined: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) if (value !== undefined) defined[key] = value
  return config.parse(ConfigProvider.fromEnv({ env: defined }))
}

/** One line naming the variable at fault, e.g. `PORT: Expected a value between 0 and 65535`. */
export const describeError = (error: Config.ConfigError): string => {
  const text = error.cause.message
  const variable = /at \["([A-Z_]+)"\]/.exec(text)?.[1]
  const reason = text.split("\n")[0] ?? text
  return variable === undefined ? text.replace(/\s*\n\s*/g, " ") : `${variable}: ${reason}`
}

export class InvalidConfiguration extends Data.TaggedError("InvalidConfiguration")<{
  readonly message: string
}> {}

/** The configuration, or a failure whose message names the variable at fault. */
export const load = (env: NodeJS.ProcessEnv = process.env) =>
  read(env).pipe(
    Effect.mapError(
      (error) => new InvalidConfiguration({ message: `invalid configuration: ${describeError(error)}` })
    )
  )
