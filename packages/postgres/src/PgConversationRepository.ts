/**
 * `ConversationRepository` over `effect/sql`. A message is appended in one statement that
 * also advances the conversation's sequence, so concurrent appends are totally ordered by
 * the row lock and none is lost, on Postgres and PGlite alike.
 */
import {
  Conversation,
  ConversationRepository,
  Message,
  type MessageRoom,
  type NewMessage,
  type QuotaBound,
  QuotaExceeded,
  type RepositoryError,
  traced
} from "@taskport/core"
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { type BoundRefusal, iso, quotaSlot, repositoryErrors, withinBound } from "./SqlSupport.ts"

const usage = (input: string, output: string) =>
  `json_build_object('input_tokens', ${input}, 'output_tokens', ${output}, 'total_tokens', ${input} + ${output}) AS usage`
const CONVERSATION_COLUMNS = `id, title, ${iso("created_at")} AS created_at, ${iso("updated_at")} AS updated_at, ${usage("input_tokens", "output_tokens")}`
const MESSAGE_COLUMNS = `id, conversation_id, seq, role, content, tool_calls, ${iso("created_at")} AS created_at, ${usage("input_tokens", "output_tokens")}`

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const conversationColumns = sql.literal(CONVERSATION_COLUMNS)
  const messageColumns = sql.literal(MESSAGE_COLUMNS)
  // Decoders are built once, and a page of rows is decoded in one synchronous pass: a chat
  // turn reads a conversation's recent history on every request. As for tasks, the rows were
  // written through these schemas' checks, so reading them back applies only structure and
  // transformations.
  const unchecked = { disableChecks: true } as const
  const conversationDecoder = Schema.decodeUnknownExit(Conversation, unchecked)
  const conversationsDecoder = Schema.decodeUnknownExit(Schema.Array(Conversation), unchecked)
  const messageDecoder = Schema.decodeUnknownExit(Message, unchecked)
  const messagesDecoder = Schema.decodeUnknownExit(Schema.Array(Message), unchecked)
  // A row that fails the core schema is a bug, not bad input.
  const decodeConversation = (row: unknown) => Effect.orDie(conversationDecoder(row))
  const decodeConversations = (rows: ReadonlyArray<unknown>) => Effect.orDie(conversationsDecoder(rows))
  const decodeMessage = (row: unknown) => Effect.orDie(messageDecoder(row))
  const decodeMessages = (rows: ReadonlyArray<unknown>) => Effect.orDie(messagesDecoder(rows))

  const create = <B extends QuotaBound | undefined>(owner: string, title: string, bound: B) =>
    sql`WITH ${quotaSlot(sql, owner, "conversations", bound)}
      INSERT INTO conversations (user_id, title) SELECT ${owner}::text, ${title}::text FROM slot
      RETURNING ${conversationColumns}`.pipe(
      Effect.flatMap((rows) => withinBound(rows, bound)),
      Effect.flatMap((rows) => decodeConversation(rows[0])),
      repositoryErrors
    )

  /**
   * Appends in one statement that also grows the conversation's totals. `last_seq` counts the
   * conversation's messages (none is removed alone), and the update re-reads a row another
   * append changed meanwhile, so the room is judged on the latest count.
   */
  const append = <M extends MessageRoom | undefined>(
    owner: string,
    id: string,
    message: NewMessage,
    room: M
  ): Effect.Effect<
    Option.Option<Message>,
    RepositoryError | BoundRefusal<M extends MessageRoom ? QuotaBound : undefined>
  > => {
    const input = message.usage?.input_tokens ?? 0
    const output = message.usage?.output_tokens ?? 0
    const roomy = room === undefined ? sql`TRUE` : sql`last_seq + ${room.reserve} <= ${room.bound.limit}`
    return sql`WITH conversation AS (
        UPDATE conversations SET last_seq = last_seq + 1, updated_at = now(),
          input_tokens = input_tokens + ${input}, output_tokens = output_tokens + ${output}
        WHERE user_id = ${owner} AND id = ${id}::uuid AND ${roomy}
        RETURNING id, last_seq
      )
      INSERT INTO messages (conversation_id, user_id, seq, role, content, tool_calls, input_tokens, output_tokens)
      SELECT conversation.id, ${owner}, conversation.last_seq, ${message.role}, ${message.content},
             ${JSON.stringify(message.toolCalls)}::jsonb, ${input}, ${output}
      FROM conversation
      RETURNING ${messageColumns}`.pipe(
      Effect.flatMap((rows) => {
        if (rows.length > 0) return Effect.asSome(decodeMessage(rows[0]))
        if (room === undefined) return Effect.succeedNone
        // Nothing stored: either no such conversation of the owner's, or no room in it.
        return Effect.flatMap(
          sql`SELECT 1 FROM conversations WHERE user_id = ${owner} AND id = ${id}::uuid`,
          (found) => (found.length === 0 ? Effect.succeedNone : Effect.fail(new QuotaExceeded(room.bound)))
        )
      }),
      repositoryErrors
    ) as Effect.Effect<
      Option.Option<Message>,
      RepositoryError | BoundRefusal<M extends MessageRoom ? QuotaBound : undefined>
    >
  }

  return ConversationRepository.of(
    traced(ConversationRepository, "PgConversationRepository", {
      create: (owner, title) => create(owner, title, undefined),

      createWithin: create,

      find: (owner, id) =>
        sql`SELECT ${conversationColumns} FROM conversations WHERE user_id = ${owner} AND id = ${id}::uuid`.pipe(
          Effect.flatMap((rows) =>
            rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeConversation(rows[0]))
          ),
          repositoryErrors
        ),

      list: (owner, options) => {
        const after =
          options.after === undefined
            ? sql`TRUE`
            : sql`(updated_at, id) < (${options.after.updatedAt}::timestamptz, ${options.after.id}::uuid)`
        // Qualified in ORDER BY: a bare updated_at would mean the text column of the select list,
        // which the (user_id, updated_at, id) index cannot serve.
        return sql`SELECT ${conversationColumns} FROM conversations
        WHERE user_id = ${owner} AND ${after}
        ORDER BY conversations.updated_at DESC, id DESC LIMIT ${options.limit + 1}`.pipe(
          Effect.flatMap((rows) =>
            Effect.map(decodeConversations(rows.slice(0, options.limit)), (items) => {
              // The extra row only tells whether another page exists.
              const last = rows.length > options.limit ? items[options.limit - 1] : undefined
              return {
                items,
                next: Option.fromNullishOr(last).pipe(
                  Option.map((c) => ({ updatedAt: c.updated_at, id: c.id as string }))
                )
              }
            })
          ),
          repositoryErrors
        )
      },

      rename: (owner, id, title) =>
        sql`UPDATE conversations SET title = ${title} WHERE user_id = ${owner} AND id = ${id}::uuid RETURNING ${conversationColumns}`.pipe(
          Effect.flatMap((rows) =>
            rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeConversation(rows[0]))
          ),
          repositoryErrors
        ),

      delete: (owner, id) =>
        sql`DELETE FROM conversations WHERE user_id = ${owner} AND id = ${id}::uuid RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          repositoryErrors
        ),

      append: (owner, id, message) => append(owner, id, message, undefined),

      appendWithin: append,

      recent: (owner, id, limit) =>
        sql`SELECT * FROM (
            SELECT ${messageColumns} FROM messages
            WHERE conversation_id = ${id}::uuid AND user_id = ${owner}
            ORDER BY seq DESC LIMIT ${limit}
          ) recent ORDER BY seq ASC`.pipe(Effect.flatMap(decodeMessages), repositoryErrors),

      messages: (owner, id, options) => {
        // `after` is a message id; the order itself is the conversation's sequence.
        const after =
          options.after === undefined
            ? sql`TRUE`
            : sql`seq > (SELECT seq FROM messages WHERE id = ${options.after} AND conversation_id = ${id}::uuid)`
        return sql<{ id: number }>`SELECT ${messageColumns} FROM messages
          WHERE conversation_id = ${id}::uuid AND user_id = ${owner} AND ${after}
          ORDER BY seq ASC LIMIT ${options.limit + 1}`.pipe(
          Effect.flatMap((rows) =>
            Effect.map(decodeMessages(rows.slice(0, options.limit)), (items) => ({
              items,
              next:
                rows.length > options.limit ? Option.some(rows[options.limit - 1]!.id) : Option.none<number>()
            }))
          ),
          repositoryErrors
        )
      }
    })
  )
})

/** `ConversationRepository` over whichever `SqlClient` (Postgres or PGlite) is provided. */
export const layer: Layer.Layer<ConversationRepository, never, SqlClient.SqlClient> = Layer.effect(
  ConversationRepository,
  make
)
