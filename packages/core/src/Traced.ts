/**
 * Named spans for adapters: each method of a service implementation runs in a span called
 * `<Service>.<method>`, so a trace shows the repository, model and verifier steps under the
 * use case that called them.
 */
import { type Context, Effect } from "effect"

/**
 * The implementation of the service `key`, with every effect-returning method wrapped in a
 * span named `<name>.<method>`. The key only lends its shape, so the methods are typed as
 * if written for `key.of(...)`.
 */
export const traced = <I, S extends object>(_key: Context.Key<I, S>, name: string, implementation: S): S => {
  const wrapped: Record<string, unknown> = {}
  for (const [method, member] of Object.entries(implementation)) {
    if (typeof member !== "function") {
      wrapped[method] = member
      continue
    }
    const span = `${name}.${method}`
    // No stack trace per call: the span's name already says where it ran.
    const options = { captureStackTrace: false } as const
    wrapped[method] = (...args: ReadonlyArray<unknown>) => {
      const result: unknown = member.apply(implementation, args)
      return Effect.isEffect(result) ? Effect.withSpan(result, span, options) : result
    }
  }
  return wrapped as S
}
