/**
 * The one formatter of schema failures: every surface names the fields at fault with the
 * same words, whether it answers a form, an MCP client or a model.
 */
import { Effect, Exit, Option, Schema, SchemaIssue } from "effect"
import { type FieldIssue, InvalidParameters } from "./Errors.ts"

const standard = SchemaIssue.makeFormatterStandardSchemaV1()

/** Every problem of a decode failure, each with the dotted path of its field ("" for the whole input). */
export const fieldIssues = (error: Schema.SchemaError): ReadonlyArray<FieldIssue> =>
  standard(error.issue).issues.map((issue) => ({
    field: (issue.path ?? [])
      .map((segment) => String(typeof segment === "object" ? segment.key : segment))
      .join("."),
    message: messageOf(issue.message)
  }))

// The decoder's own words for two common cases read oddly out of context.
const messageOf = (message: string): string =>
  message === "Missing key"
    ? "is required"
    : message === "Expected no excess property"
      ? "is not a known field"
      : message

/** Every problem on one line, each naming its field, so a model (or a person) can correct the input. */
export const describeSchemaError = (error: Schema.SchemaError): string =>
  new InvalidParameters({ issues: fieldIssues(error) }).message

/** The typed failure for a decode failure. */
export const invalidParameters = (error: Schema.SchemaError): InvalidParameters =>
  new InvalidParameters({ issues: fieldIssues(error) })

/**
 * A use case's decoder, built once: it decodes a caller's input with every problem collected
 * and refuses unknown keys (a misspelt field silently ignored would look like success).
 */
export const inputDecoder = <S extends Schema.Codec<unknown, unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownExit(schema, { errors: "all", onExcessProperty: "error" })
  return (input: unknown): Effect.Effect<S["Type"], InvalidParameters> => {
    const exit = decode(input)
    return Exit.isSuccess(exit)
      ? Effect.succeed(exit.value)
      : Effect.fail(invalidParameters(Option.getOrThrow(Exit.findErrorOption(exit))))
  }
}
