/**
 * Taskport's chat agent embedded in a program, with no HTTP: ChatService over embedded
 * PGlite, answering with the offline command interpreter (a deterministic parser of a few
 * English commands, not an AI) or, when OPENAI_API_KEY is set, with that model (also
 * OPENAI_MODEL and OPENAI_BASE_URL, e.g. http://127.0.0.1:11434/v1 for Ollama).
 * Run with `node src/main.ts` (Node 22.18+ runs TypeScript).
 */
import { OfflineAgentRunner, OpenAiAgentRunner } from "@taskport/agent"
import { ChatService, CurrentUser, TodoToolsLayer, UserId } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { Effect, Layer, Redacted, Stream } from "effect"

const apiKey = process.env.OPENAI_API_KEY
const agent =
  apiKey === undefined || apiKey === ""
    ? OfflineAgentRunner.layer
    : OpenAiAgentRunner.layer({
        apiKey: Redacted.make(apiKey),
        model: process.env.OPENAI_MODEL,
        baseURL: process.env.OPENAI_BASE_URL
      })

const turns = ["add a task to buy groceries", "I need to remember to pay bills", "mark task 1 as complete"]

const program = Effect.gen(function* () {
  const chat = yield* ChatService
  let conversation: string | undefined
  for (const message of turns) {
    const reply = yield* chat.turn(
      conversation === undefined ? { message } : { message, conversation_id: conversation }
    )
    conversation = reply.conversation_id
    console.log(`> ${message}`)
    for (const call of reply.tool_calls) console.log(`  [${call.name} ${JSON.stringify(call.arguments)}]`)
    console.log(reply.agent_response)
  }
  // The streamed form of a turn: tool calls and text arrive as they happen.
  console.log("> what's pending?")
  const events = yield* chat.turnStream({ message: "what's pending?", conversation_id: conversation ?? null })
  yield* Stream.runForEach(events, (event) =>
    Effect.sync(() => {
      if (event.type === "tool_call")
        console.log(`  [${event.call.name} ${JSON.stringify(event.call.arguments)}]`)
      if (event.type === "delta") process.stdout.write(event.text)
      if (event.type === "done") process.stdout.write("\n")
    })
  )
})

const todos = TodoToolsLayer.pipe(Layer.provideMerge(PgDatabase.layerPglite()))

await Effect.runPromise(
  program.pipe(
    // Identity normally comes from a verified token; an embedding program states it directly.
    Effect.provideService(CurrentUser, { id: UserId.make("embedded-user") }),
    Effect.provide(ChatService.layer().pipe(Layer.provide(Layer.merge(todos, agent))))
  )
)
