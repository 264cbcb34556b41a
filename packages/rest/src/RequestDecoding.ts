/**
 * Decoding of path, query and body values with the core's schemas, every error collected
 * into a 400 that names each field and its rule.
 */
import { fieldIssues } from "@taskport/core"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import { type HttpFailure, invalidRequest } from "./HttpFailure.ts"

// Decoders are built once per schema: building one costs more than most requests do.
const decoders = new WeakMap<Schema.Top, (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>>()
const decoderOf = (schema: Schema.Top) => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownExit(schema as unknown as Schema.Codec<unknown, unknown>, {
      errors: "all",
      onExcessProperty: "error"
    })
    decoders.set(schema, decode)
  }
  return decode
}

/** Decodes with every error collected, turning a failure into a 400 that names each field. */
export const decodeOrFail = <S extends Schema.Top>(
  schema: S,
  input: unknown,
  what: string
): Effect.Effect<S["Type"], HttpFailure> => {
  const exit = decoderOf(schema)(input) as Exit.Exit<S["Type"], Schema.SchemaError>
  if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
  const error = Cause.findErrorOption(exit.cause)
  const issues = Option.isSome(error) ? fieldIssues(error.value) : []
  const summary = issues
    .map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : issue.message))
    .join("; ")
  return Effect.fail(invalidRequest(`Invalid ${what}: ${summary || "malformed"}`, issues))
}

/** A path parameter decoded through a string-tree codec derived once, named in its errors. */
export const pathDecoder = <S extends Schema.Top>(name: string, field: S) => {
  const codec = Schema.toCodecStringTree(Schema.Struct({ [name]: field }))
  return (raw: string | undefined): Effect.Effect<S["Type"], HttpFailure> =>
    Effect.map(
      decodeOrFail(codec, { [name]: raw ?? "" }, "path"),
      (decoded) => (decoded as Record<string, S["Type"]>)[name] as S["Type"]
    )
}

/** A query string decoded through a string-tree codec derived once per schema. */
export const queryDecoder = <S extends Schema.Top>(schema: S) => {
  const codec = Schema.toCodecStringTree(schema)
  return (request: Request): Effect.Effect<S["Type"], HttpFailure> =>
    decodeOrFail(codec, Object.fromEntries(new URL(request.url).searchParams), "query") as Effect.Effect<
      S["Type"],
      HttpFailure
    >
}
