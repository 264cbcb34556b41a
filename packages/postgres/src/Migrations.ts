/**
 * The database schema as versioned migrations, applied by Effect's `Migrator`. Each step
 * runs one statement at a time (the Postgres driver uses the extended protocol), and the
 * whole run holds a transaction-scoped advisory lock, so server processes starting together
 * apply each migration exactly once.
 */
import { Effect } from "effect"
import { Migrator, SqlClient, type SqlError } from "effect/sql"

const statements = (...sqls: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (const text of sqls) yield* sql.unsafe(text)
  })

/**
 * Model token usage: per message (the assistant's, for its turn) and, kept up to date by the
 * append statement, per conversation. The index serves a user's usage of the day.
 */
const tokenUsage = statements(
  "ALTER TABLE messages ADD COLUMN input_tokens integer NOT NULL DEFAULT 0",
  "ALTER TABLE messages ADD COLUMN output_tokens integer NOT NULL DEFAULT 0",
  "ALTER TABLE conversations ADD COLUMN input_tokens bigint NOT NULL DEFAULT 0",
  "ALTER TABLE conversations ADD COLUMN output_tokens bigint NOT NULL DEFAULT 0",
  "CREATE INDEX messages_user_created ON messages (user_id, created_at)"
)

/**
 * Row-level security for one user-owned table: the `taskport_app` role may read and write it,
 * and its policy shows that role only the rows of the owner the fence set.
 */
const ownedByUser = (table: string) => [
  `GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO taskport_app`,
  `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
  `CREATE POLICY ${table}_owner ON ${table} TO taskport_app
   USING (user_id = current_setting('taskport.user_id', true))
   WITH CHECK (user_id = current_setting('taskport.user_id', true))`
]

/**
 * Row-level security on every user-owned table (tasks, conversations, messages, pending
 * actions, idempotency keys, settings): the `taskport_app` role sees, changes and
 * inserts only the rows whose `user_id` is the transaction's `taskport.user_id` (see
 * `OwnerFence`). The role is cluster-wide, so creating it tolerates another schema's run
 * having made it; the connecting role becomes a member so it may switch to it. Tables added
 * later in the schema get the role's privileges by default, but need a policy of their own.
 */
const rowLevelSecurity = statements(
  `DO $$ BEGIN CREATE ROLE taskport_app NOLOGIN;
   EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
  `DO $$ BEGIN
     EXECUTE format('GRANT taskport_app TO %I', current_user);
     EXECUTE format('GRANT USAGE ON SCHEMA %I TO taskport_app', current_schema());
     EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO taskport_app', current_schema());
     EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO taskport_app', current_schema());
     EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE ON SEQUENCES TO taskport_app', current_schema());
   END $$`,
  // Every table of the schema, so a statement of another adapter that runs after a fenced
  // call in the same transaction (as the role) is allowed, policy permitting.
  `DO $$ BEGIN
     EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO taskport_app', current_schema());
   END $$`,
  ...["tasks", "conversations", "messages", "pending_actions", "idempotency_keys", "user_settings"].flatMap(
    ownedByUser
  )
)

/**
 * Webhook endpoints and their deliveries. A delivery is one event for one endpoint, with the
 * exact body every attempt signs; `locked_by`/`locked_until` are the claim of the process
 * making an attempt, which another may take over once it has run out. An endpoint keeps the
 * facts its health is judged by: since when every attempt failed, and how many deliveries
 * in a row were given up.
 */
const webhooks = statements(
  `CREATE TABLE webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id text NOT NULL,
    url text NOT NULL CHECK (char_length(url) <= 2048),
    event_types jsonb,
    description text CHECK (char_length(description) <= 500),
    secret text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    failing_since timestamptz(3),
    give_ups_in_a_row integer NOT NULL DEFAULT 0,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now()
  )`,
  "CREATE INDEX webhooks_user ON webhooks (user_id, created_at, id)",
  `CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'given_up')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz(3),
    locked_by uuid,
    locked_until timestamptz(3),
    last_attempt_at timestamptz(3),
    last_status_code integer,
    last_error text CHECK (char_length(last_error) <= 200),
    last_response_ms integer,
    delivered_at timestamptz(3),
    created_at timestamptz(3) NOT NULL,
    UNIQUE (webhook_id, event_id)
  )`,
  // Serves the claim: only deliveries still to be attempted are indexed.
  "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'failed')",
  "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at, id)",
  ...ownedByUser("webhooks"),
  ...ownedByUser("webhook_deliveries")
)

/**
 * The outbox: one row per task change, written by the change's own statement (see
 * `PgTaskRepository`), and a counter row per user from which each event takes its position.
 * The counter row is updated in the write's transaction and stays locked until it ends, so
 * a user's positions are gap-free and in commit order. Both tables are user-owned and
 * fenced by row-level security like the others.
 */
const events = statements(
  `CREATE TABLE event_positions (
    user_id text PRIMARY KEY,
    position bigint NOT NULL
  )`,
  `CREATE TABLE events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id text NOT NULL,
    position bigint NOT NULL,
    type text NOT NULL CHECK (type IN ('task.created', 'task.updated', 'task.completed', 'task.reopened',
      'task.deleted', 'task.restored', 'task.purged', 'task.reminder')),
    task_id integer NOT NULL,
    task_version integer NOT NULL,
    task_before jsonb,
    task_after jsonb,
    actor_surface text NOT NULL CHECK (actor_surface IN ('rest', 'mcp', 'chat', 'library')),
    actor_client text CHECK (char_length(actor_client) <= 200),
    conversation_id text CHECK (char_length(conversation_id) <= 200),
    tool_call_id text CHECK (char_length(tool_call_id) <= 200),
    occurred_at timestamptz(3) NOT NULL DEFAULT now(),
    UNIQUE (user_id, position)
  )`,
  "CREATE INDEX events_user_task ON events (user_id, task_id, position)",
  "CREATE INDEX events_occurred ON events (occurred_at)",
  ...["events", "event_positions"].flatMap(ownedByUser)
)

/**
 * Where each background consumer of the outbox (webhook fan-out, the NATS publisher) stands
 * in each user's events, and the reminders of tasks: what was asked (`reminder`, an instant
 * or an offset from the due), the instant it resolves to (`remind_at`), and when it was
 * settled (`reminded_at`: fired, or passed while the task was closed).
 */
const consumersAndReminders = statements(
  `CREATE TABLE event_consumers (
    consumer text NOT NULL,
    user_id text NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (consumer, user_id)
  )`,
  ...ownedByUser("event_consumers"),
  "ALTER TABLE tasks ADD COLUMN reminder text CHECK (char_length(reminder) <= 100)",
  "ALTER TABLE tasks ADD COLUMN remind_at timestamptz(3)",
  "ALTER TABLE tasks ADD COLUMN reminded_at timestamptz(3)",
  "CREATE INDEX tasks_reminders_due ON tasks (remind_at) WHERE reminded_at IS NULL AND remind_at IS NOT NULL"
)

/** The tables whose rows a quota bounds, each counted in the `quota_counts` column of its name. */
const COUNTED = ["tasks", "conversations", "webhooks"] as const

/**
 * Per-owner counts of the rows quotas bound (tasks, the trash included; conversations;
 * webhook endpoints), kept exact by statement triggers on each table whatever writes them (a
 * use case, a purge, the retention sweep), and filled from the rows already there. A bounded
 * write claims its room against them in its own statement (`SqlSupport.quotaSlot`). The
 * functions keep the search path they were made with, so the schema they count in is the one
 * the migration ran in.
 */
const quotaCounts = statements(
  `CREATE TABLE quota_counts (
    user_id text PRIMARY KEY,
    tasks integer NOT NULL DEFAULT 0,
    conversations integer NOT NULL DEFAULT 0,
    webhooks integer NOT NULL DEFAULT 0
  )`,
  ...ownedByUser("quota_counts"),
  ...COUNTED.flatMap((table) => [
    `CREATE FUNCTION quota_counts_${table}_added() RETURNS trigger LANGUAGE plpgsql
     SET search_path FROM CURRENT AS $$ BEGIN
       INSERT INTO quota_counts AS counts (user_id, ${table})
         SELECT user_id, count(*) FROM added GROUP BY user_id
       ON CONFLICT (user_id) DO UPDATE SET ${table} = counts.${table} + EXCLUDED.${table};
       RETURN NULL;
     END $$`,
    `CREATE FUNCTION quota_counts_${table}_removed() RETURNS trigger LANGUAGE plpgsql
     SET search_path FROM CURRENT AS $$ BEGIN
       UPDATE quota_counts AS counts SET ${table} = counts.${table} - gone.n
         FROM (SELECT user_id, count(*)::int AS n FROM removed GROUP BY user_id) AS gone
         WHERE counts.user_id = gone.user_id;
       RETURN NULL;
     END $$`,
    `CREATE FUNCTION quota_counts_${table}_emptied() RETURNS trigger LANGUAGE plpgsql
     SET search_path FROM CURRENT AS $$ BEGIN
       UPDATE quota_counts SET ${table} = 0;
       RETURN NULL;
     END $$`,
    `CREATE TRIGGER ${table}_counted_added AFTER INSERT ON ${table}
     REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION quota_counts_${table}_added()`,
    `CREATE TRIGGER ${table}_counted_removed AFTER DELETE ON ${table}
     REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION quota_counts_${table}_removed()`,
    `CREATE TRIGGER ${table}_counted_emptied AFTER TRUNCATE ON ${table}
     FOR EACH STATEMENT EXECUTE FUNCTION quota_counts_${table}_emptied()`
  ]),
  `INSERT INTO quota_counts (user_id, tasks, conversations, webhooks)
   SELECT user_id, sum(tasks), sum(conversations), sum(webhooks) FROM (
     SELECT user_id, count(*) AS tasks, 0 AS conversations, 0 AS webhooks FROM tasks GROUP BY user_id
     UNION ALL SELECT user_id, 0, count(*), 0 FROM conversations GROUP BY user_id
     UNION ALL SELECT user_id, 0, 0, count(*) FROM webhooks GROUP BY user_id
   ) AS owned GROUP BY user_id`
)

// Timestamps keep millisecond precision (timestamptz(3)) so that values round-trip exactly
// through JavaScript and pagination cursors never fall between two rows.
const migrations = {
  "0001_create_tasks": statements(
    `CREATE TABLE tasks (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id text NOT NULL,
      title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
      description text CHECK (char_length(description) <= 2000),
      priority text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
      priority_rank smallint GENERATED ALWAYS AS (CASE priority WHEN 'low' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END) STORED,
      completed boolean NOT NULL DEFAULT false,
      completed_at timestamptz(3),
      due text,
      due_at timestamptz(3),
      tags jsonb NOT NULL DEFAULT '[]'::jsonb,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz(3) NOT NULL DEFAULT now(),
      CHECK ((due IS NULL) = (due_at IS NULL))
    )`,
    // One index per sort key, each led by user_id and ending in id for keyset pagination.
    "CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id)",
    "CREATE INDEX tasks_user_updated ON tasks (user_id, updated_at, id)",
    "CREATE INDEX tasks_user_due ON tasks (user_id, (COALESCE(due_at, 'infinity'::timestamptz)), id)",
    "CREATE INDEX tasks_user_priority ON tasks (user_id, priority_rank, id)",
    "CREATE INDEX tasks_user_title ON tasks (user_id, (lower(title)), id)",
    "CREATE INDEX tasks_user_status_created ON tasks (user_id, completed, created_at, id)",
    "CREATE INDEX tasks_tags ON tasks USING gin (tags jsonb_path_ops)"
  ),
  "0002_create_conversations": statements(
    `CREATE TABLE conversations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id text NOT NULL,
      title text NOT NULL,
      last_seq integer NOT NULL DEFAULT 0,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz(3) NOT NULL DEFAULT now()
    )`,
    "CREATE INDEX conversations_user_updated ON conversations (user_id, updated_at, id)",
    `CREATE TABLE messages (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
      user_id text NOT NULL,
      seq integer NOT NULL,
      role text NOT NULL CHECK (role IN ('user', 'assistant')),
      content text NOT NULL,
      tool_calls jsonb NOT NULL DEFAULT '[]'::jsonb,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      UNIQUE (conversation_id, seq)
    )`
  ),
  // A deleted task keeps its row until the retention sweep; the partial index serves the
  // sweep and the trash listing. Idempotency records keep the first answer to a keyed write.
  // Pending actions hold destructive chat calls until the user confirms or declines them.
  "0003_safe_writes": statements(
    "ALTER TABLE tasks ADD COLUMN deleted_at timestamptz(3)",
    "CREATE INDEX tasks_trash ON tasks (deleted_at) WHERE deleted_at IS NOT NULL",
    `CREATE TABLE idempotency_keys (
      user_id text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      response jsonb NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, key)
    )`,
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
    // A destructive chat call waiting for the user's yes or no, kept with its conversation.
    `CREATE TABLE pending_actions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
      user_id text NOT NULL,
      tool text NOT NULL,
      arguments jsonb NOT NULL,
      summary text NOT NULL,
      state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'confirmed', 'declined', 'superseded')),
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      expires_at timestamptz(3) NOT NULL
    )`,
    "CREATE INDEX pending_actions_conversation ON pending_actions (conversation_id, created_at)"
  ),
  // Settings are per user and optional: a user without a row has the defaults.
  "0004_time": statements(
    `CREATE TABLE user_settings (
      user_id text PRIMARY KEY,
      time_zone text CHECK (char_length(time_zone) <= 64),
      week_start text NOT NULL DEFAULT 'monday' CHECK (week_start IN ('monday', 'sunday', 'saturday')),
      updated_at timestamptz(3) NOT NULL DEFAULT now()
    )`,
    "CREATE INDEX tasks_user_completed_at ON tasks (user_id, completed_at) WHERE completed_at IS NOT NULL",
    // A recurring task keeps its rule; a completed occurrence points at the one scheduled after it.
    "ALTER TABLE tasks ADD COLUMN recurrence text CHECK (char_length(recurrence) <= 200)",
    "ALTER TABLE tasks ADD COLUMN next_occurrence_id integer",
    "ALTER TABLE tasks ADD CHECK (recurrence IS NULL OR due IS NOT NULL)"
  ),
  "0005_guard_rails": Effect.andThen(tokenUsage, rowLevelSecurity),
  "0006_events": events,
  "0007_webhooks": webhooks,
  "0008_consumers_and_reminders": consumersAndReminders,
  "0009_quota_counts": quotaCounts
}

/** The key of the advisory lock that serialises migration runs across processes. */
const MIGRATION_LOCK = 7_354_221_001

export const MIGRATIONS_TABLE = "taskport_migrations"

/**
 * Applies the pending migrations numbered up to `last` (every one by default) and returns
 * the ones it applied, as `[id, name]`. Stopping early lets a test build a database as an
 * earlier release left it, then migrate it the rest of the way.
 */
export const migrateThrough = (
  last: number = Number.POSITIVE_INFINITY
): Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError.SqlError,
  SqlClient.SqlClient
> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const wanted = Object.fromEntries(
      Object.entries(migrations).filter(([name]) => Number.parseInt(name, 10) <= last)
    )
    const run = Migrator.make({})({ loader: Migrator.fromRecord(wanted), table: MIGRATIONS_TABLE })
    return yield* Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`
      return yield* run
    }).pipe(sql.withTransaction)
  })

/** Applies every pending migration and returns the ones it applied, as `[id, name]`. */
export const migrate = migrateThrough()
