/**
 * The benchmark's peer: the four REST routes the benchmark drives, written the way a careful
 * Fastify service would write them, to show what the same work costs without Taskport's
 * layers. Fastify 5 with response schemas (fast-json-stringify), @fastify/jwt verifying the
 * same HS256 tokens (the benchmark's BETTER_AUTH_SECRET), and node-postgres with a pool of 10
 * and named (prepared) statements, on the tables the benchmark seeds.
 *
 * It answers with the same JSON Taskport does: the same columns rendered the same way, the
 * list in the same order (newest first, a page of 20). What it leaves out is what the
 * comparison is about: no row-level security (the statements filter by user), no rate limits,
 * ETags, request ids or request log, and validation by JSON Schema only.
 *
 * Environment: PEER_DATABASE_URL, PEER_SCHEMA (the search path), BETTER_AUTH_SECRET, PORT
 * (0: any free port), HOST, PEER_POOL_SIZE (10), PEER_WORKERS (1; more forks node:cluster
 * workers sharing the port round-robin, as Taskport's WEB_CONCURRENCY does). Prints
 * "Peer is listening on <url>" once every worker listens.
 */
import Cluster from "node:cluster"
import FastifyJwt from "@fastify/jwt"
import Fastify from "fastify"
import Pg from "pg"

const env = (name: string, fallback?: string): string => {
  const value = process.env[name]
  if (value !== undefined && value !== "") return value
  if (fallback !== undefined) return fallback
  throw new Error(`${name} is required`)
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** Taskport's task columns, in its order and rendering (PgTaskRepository). */
const COLUMNS = [
  "id",
  "title",
  "description",
  "priority",
  "completed",
  `${iso("completed_at")} AS completed_at`,
  "due",
  "tags",
  "recurrence",
  "reminder",
  `${iso("remind_at")} AS remind_at`,
  "next_occurrence_id",
  "version",
  `${iso("created_at")} AS created_at`,
  `${iso("updated_at")} AS updated_at`
].join(", ")

const PAGE = 20

const STATEMENTS = {
  list: `SELECT ${COLUMNS} FROM tasks WHERE user_id = $1 AND deleted_at IS NULL
         ORDER BY tasks.created_at DESC, id DESC LIMIT ${PAGE + 1}`,
  read: `SELECT ${COLUMNS} FROM tasks WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL`,
  create: `INSERT INTO tasks (user_id, title, description, priority, tags)
           VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING ${COLUMNS}`,
  rename: `UPDATE tasks SET title = $3, version = version + 1, updated_at = now()
           WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`
} as const

const nullable = (type: string) => ({ type: [type, "null"] })

const taskProperties = {
  id: { type: "integer" },
  title: { type: "string" },
  description: nullable("string"),
  priority: { type: "string" },
  completed: { type: "boolean" },
  completed_at: nullable("string"),
  due: nullable("string"),
  tags: { type: "array", items: { type: "string" } },
  recurrence: nullable("string"),
  reminder: nullable("string"),
  remind_at: nullable("string"),
  next_occurrence_id: nullable("integer"),
  version: { type: "integer" },
  created_at: { type: "string" },
  updated_at: { type: "string" }
} as const

// Every property is always present, as in Taskport's answers.
const task = {
  type: "object",
  properties: taskProperties,
  required: Object.keys(taskProperties)
} as const

const problem = {
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } }
} as const

const idParams = {
  type: "object",
  properties: { id: { type: "integer", minimum: 1, maximum: 2147483647 } },
  required: ["id"]
} as const

const title = { type: "string", minLength: 1, maxLength: 200 } as const

interface TaskRow {
  readonly id: number
  readonly created_at: string
}

const serve = async () => {
  const pool = new Pg.Pool({
    connectionString: env("PEER_DATABASE_URL"),
    max: Number(env("PEER_POOL_SIZE", "10")),
    options: `-c search_path=${env("PEER_SCHEMA", "public")}`,
    application_name: "taskport-bench-peer"
  })
  const query = <A>(name: keyof typeof STATEMENTS, values: ReadonlyArray<unknown>) =>
    pool.query<A & Pg.QueryResultRow>({ name, text: STATEMENTS[name], values: [...values] })

  const app = Fastify({ logger: false })
  await app.register(FastifyJwt, {
    secret: env("BETTER_AUTH_SECRET"),
    // Verified tokens are remembered for a minute, as Taskport remembers them.
    verify: { algorithms: ["HS256"], cache: true, cacheTTL: 60_000, requiredClaims: ["sub", "exp"] }
  })
  app.addHook("onRequest", async (request, reply) => {
    try {
      await request.jwtVerify()
    } catch {
      return reply.code(401).send({ error: "unauthorized", message: "a valid bearer token is required" })
    }
  })
  const owner = (request: { user: unknown }) => (request.user as { sub: string }).sub
  const notFound = { error: "not_found", message: "no such task" }

  app.get(
    "/api/v1/tasks",
    {
      schema: {
        response: {
          200: {
            type: "object",
            properties: { items: { type: "array", items: task }, next_cursor: nullable("string") },
            required: ["items", "next_cursor"]
          }
        }
      }
    },
    async (request) => {
      const { rows } = await query<TaskRow>("list", [owner(request)])
      const items = rows.slice(0, PAGE)
      const last = rows.length > PAGE ? items.at(-1) : undefined
      return {
        items,
        next_cursor:
          last === undefined
            ? null
            : Buffer.from(JSON.stringify({ key: last.created_at, id: last.id })).toString("base64url")
      }
    }
  )

  app.get<{ Params: { id: number } }>(
    "/api/v1/tasks/:id",
    { schema: { params: idParams, response: { 200: task, 404: problem } } },
    async (request, reply) => {
      const { rows } = await query<TaskRow>("read", [owner(request), request.params.id])
      return rows[0] ?? reply.code(404).send(notFound)
    }
  )

  app.post<{ Body: { title: string; description: string | null; priority: string; tags: Array<string> } }>(
    "/api/v1/tasks",
    {
      schema: {
        body: {
          type: "object",
          properties: {
            title,
            description: { type: ["string", "null"], maxLength: 2000, default: null },
            priority: { type: "string", enum: ["low", "medium", "high"], default: "medium" },
            tags: {
              type: "array",
              items: { type: "string", minLength: 1, maxLength: 50 },
              maxItems: 20,
              default: []
            }
          },
          required: ["title"],
          additionalProperties: false
        },
        response: { 201: task }
      }
    },
    async (request, reply) => {
      const { title, description, priority, tags } = request.body
      const { rows } = await query<TaskRow>("create", [
        owner(request),
        title,
        description,
        priority,
        JSON.stringify(tags)
      ])
      const created = rows[0]!
      return reply.code(201).header("location", `/api/v1/tasks/${created.id}`).send(created)
    }
  )

  app.patch<{ Params: { id: number }; Body: { title: string } }>(
    "/api/v1/tasks/:id",
    {
      schema: {
        params: idParams,
        body: { type: "object", properties: { title }, required: ["title"], additionalProperties: false },
        response: { 200: task, 404: problem }
      }
    },
    async (request, reply) => {
      const { rows } = await query<TaskRow>("rename", [owner(request), request.params.id, request.body.title])
      return rows[0] ?? reply.code(404).send(notFound)
    }
  )

  const address = await app.listen({ port: Number(env("PORT", "0")), host: env("HOST", "127.0.0.1") })
  process.send?.({ type: "peer:listening", url: address })
  if (Cluster.isPrimary) process.stdout.write(`Peer is listening on ${address}\n`)
  const stop = () => {
    void app.close().then(() => pool.end().then(() => process.exit(0)))
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
}

const workers = Number(env("PEER_WORKERS", "1"))
if (Cluster.isPrimary && workers > 1) {
  Cluster.schedulingPolicy = Cluster.SCHED_RR
  let listening = 0
  for (let n = 0; n < workers; n++) {
    Cluster.fork().on("message", (message: { type?: string; url?: string }) => {
      if (message.type === "peer:listening" && ++listening === workers) {
        process.stdout.write(`Peer is listening on ${message.url} with ${workers} workers\n`)
      }
    })
  }
  const stop = () => {
    for (const worker of Object.values(Cluster.workers ?? {})) worker?.process.kill("SIGTERM")
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
} else {
  serve().catch((error: unknown) => {
    process.stderr.write(`peer: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  })
}
