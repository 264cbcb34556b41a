/**
 * What every runner shares: a turn written once as a program that reports events, run
 * either quietly (`run`) or as a stream of those events (`stream`), and a recorder that
 * calls a tool through the turn's `ToolSource` and keeps the call for the reply.
 */
import type {
  AgentError,
  AgentEvent,
  AgentInput,
  AgentReply,
  AgentRunnerShape,
  ToolCall,
  ToolOutcome,
  ToolSource
} from "@taskport/core"
import { Effect, Queue, Stream } from "effect"

export type Emit = (event: AgentEvent) => Effect.Effect<void>

/** A turn: it reports its events through `emit` and returns the reply. */
export type TurnProgram = (input: AgentInput, emit: Emit) => Effect.Effect<AgentReply, AgentError>

const silent: Emit = () => Effect.void

/** Both faces of a runner from one program; the stream ends with `done`. */
export const runner = (program: TurnProgram): AgentRunnerShape => ({
  run: (input) => program(input, silent),
  stream: (input) =>
    Stream.callback<AgentEvent, AgentError>((queue) =>
      program(input, (event) => Effect.asVoid(Queue.offer(queue, event))).pipe(
        Effect.flatMap((reply) => Queue.offer(queue, { type: "done", reply })),
        Effect.flatMap(() => Queue.end(queue)),
        Effect.catch((error: AgentError) => Queue.fail(queue, error))
      )
    )
})

export interface ToolRecorder {
  /** Calls a tool through the source, reporting the call and its result, and records it. */
  readonly call: (id: string, name: string, args: unknown) => Effect.Effect<ToolOutcome>
  /** Records a call that never reached the source, such as one with unreadable arguments. */
  readonly reject: (id: string, name: string, args: unknown, message: string) => Effect.Effect<ToolOutcome>
  readonly calls: () => ReadonlyArray<ToolCall>
}

export const makeRecorder = (source: ToolSource, emit: Emit): ToolRecorder => {
  const calls: Array<ToolCall> = []
  const record = (call: ToolCall) =>
    Effect.gen(function* () {
      calls.push(call)
      yield* emit({ type: "tool_result", call })
      return { result: call.result, is_error: call.is_error }
    })
  return {
    call: (id, name, args) =>
      Effect.gen(function* () {
        yield* emit({ type: "tool_call", call: { id, name, arguments: args } })
        const outcome = yield* source.call(name, args, id)
        return yield* record({
          id,
          name,
          arguments: args,
          result: outcome.result,
          is_error: outcome.is_error
        })
      }),
    reject: (id, name, args, message) =>
      Effect.gen(function* () {
        yield* emit({ type: "tool_call", call: { id, name, arguments: args } })
        return yield* record({ id, name, arguments: args, result: message, is_error: true })
      }),
    calls: () => [...calls]
  }
}
