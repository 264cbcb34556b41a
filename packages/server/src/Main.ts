/**
 * Runs one `taskport` command as the process's main fiber. SIGTERM and SIGINT interrupt the
 * fiber, so every scoped resource (the listener, the database) is released in order; a stop
 * asked for that way exits 0. Any failure ends with one line naming what is at fault and a
 * non-zero exit code, never a stack trace.
 */
import { Cause, Data, type Effect, Exit, Option, Runtime } from "effect"

/** A command used wrongly: exits 2, like a shell usage error. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {
  override readonly [Runtime.errorExitCode] = 2
}

/** A failure's message for a person: the error's own text, never a stack trace. */
export const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const value = error.value
    return typeof value === "object" && value !== null && "message" in value
      ? String(value.message)
      : String(value)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "unexpected failure"
}

export const fail = (message: string, code = 1): never => {
  process.stderr.write(`taskport: ${message}\n`)
  process.exit(code)
}

/** A command resolves to its exit code; a stop asked for by signal is a clean exit. */
const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) return onExit(typeof exit.value === "number" ? exit.value : 0)
  if (Cause.hasInterruptsOnly(exit.cause)) return onExit(0)
  process.stderr.write(`taskport: ${describe(exit.cause)}\n`)
  onExit(Runtime.getErrorExitCode(Cause.squash(exit.cause)))
}

const runner = Runtime.makeRunMain(({ fiber, teardown }) => {
  // Once: a second signal while draining falls through to Node's default and ends the process.
  const interrupt = () => fiber.interruptUnsafe()
  process.once("SIGTERM", interrupt)
  process.once("SIGINT", interrupt)
  fiber.addObserver((exit) => {
    process.off("SIGTERM", interrupt)
    process.off("SIGINT", interrupt)
    // Exiting explicitly: an embedded database or a read stdin would keep the process alive.
    teardown(exit, (code) => process.exit(code))
  })
})

export const run = <A, E>(program: Effect.Effect<A, E>): void =>
  runner(program, { teardown, disableErrorReporting: true })
