/**
 * OpenAI's strict mode for tool parameters (closed objects, every key required, optional
 * fields nullable), derived with Effect's OpenAI codec from a tool's Effect schema or, for
 * tools known only by their JSON Schema (an MCP server's), from that schema imported into
 * Effect. The core's tool definitions know nothing of OpenAI; the runner derives these.
 */
import { describeSchemaError, type JsonSchemaObject, type ToolDefinition } from "@taskport/core"
import { Data, Effect, JsonSchema, Schema, SchemaRepresentation } from "effect"
import { OpenAiStructuredOutput } from "effect/ai"

/** Arguments that do not fit a tool's parameters; the message is meant for the model. */
export class InvalidToolArguments extends Data.TaggedError("InvalidToolArguments")<{
  readonly message: string
}> {}

/** A tool's parameters in strict mode, and the way back from arguments written against them. */
export interface StrictParameters {
  readonly schema: JsonSchemaObject
  /**
   * Turns arguments written against `schema` into arguments for `ToolSource.call`: a `null`
   * in an optional field means the field is absent.
   */
  readonly toArguments: (args: unknown) => Effect.Effect<unknown, InvalidToolArguments>
}

/**
 * Optional fields that may also be null get `null` twice in the derived `anyOf` (once as a
 * value, once for "absent"); one is enough for the model.
 */
const withoutDuplicateBranches = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(withoutDuplicateBranches)
  if (typeof schema !== "object" || schema === null) return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === "anyOf" && Array.isArray(value)) {
      const seen = new Set<string>()
      out[key] = value.map(withoutDuplicateBranches).filter((branch) => {
        const text = JSON.stringify(branch)
        if (seen.has(text)) return false
        seen.add(text)
        return true
      })
    } else {
      out[key] = withoutDuplicateBranches(value)
    }
  }
  return out
}

/**
 * The strict variant of a parameter schema. Arguments written against it are decoded by the
 * codec, which still enforces the limits strict mode cannot express, then encoded back to
 * the schema's plain JSON form, where an absent optional field is a missing key.
 */
export const strictParameters = <T, E>(schema: Schema.Codec<T, E>): StrictParameters => {
  const { codec, jsonSchema } = OpenAiStructuredOutput.toCodecOpenAI(schema)
  const decode = Schema.decodeUnknownEffect(codec, { errors: "all" })
  const encode = Schema.encodeEffect(Schema.toCodecJson(schema))
  return {
    schema: withoutDuplicateBranches(jsonSchema) as JsonSchemaObject,
    toArguments: (args) =>
      decode(args).pipe(
        Effect.flatMap(encode),
        Effect.mapError(
          (error) => new InvalidToolArguments({ message: `Invalid arguments: ${describeSchemaError(error)}` })
        )
      )
  }
}

const isOpen = (additional: unknown) =>
  additional === undefined ||
  additional === true ||
  (typeof additional === "object" && additional !== null && Object.keys(additional).length === 0)

/**
 * Strict mode has no open objects: an object that merely allows extra keys is offered
 * closed (the model then sends only the declared ones). A typed map cannot be expressed and
 * leaves the tool without a strict variant.
 */
const closed = (schema: JsonSchema.JsonSchema): JsonSchema.JsonSchema =>
  schema.type === "object" && isOpen(schema.additionalProperties)
    ? { ...schema, additionalProperties: false }
    : schema

/**
 * The strict variant of a tool known only by its JSON Schema, or undefined when the schema
 * uses something the import or strict mode cannot represent (the tool is then offered
 * without strict mode). Patterns are not applied here: the tool's own server checks them.
 */
export const strictParametersFromJsonSchema = (
  parameters: JsonSchemaObject
): StrictParameters | undefined => {
  const properties = parameters.properties
  if (
    parameters.type === "object" &&
    (properties === undefined ||
      (typeof properties === "object" && properties !== null && Object.keys(properties).length === 0))
  ) {
    // A tool without parameters: the import would make a closed empty record, which has no strict form.
    return {
      schema: { type: "object", properties: {}, required: [], additionalProperties: false },
      toArguments: (args) =>
        typeof args === "object" && args !== null && !Array.isArray(args)
          ? Effect.succeed({})
          : Effect.fail(new InvalidToolArguments({ message: "Invalid arguments: Expected object" }))
    }
  }
  try {
    const schema = SchemaRepresentation.fromJsonSchemaDocument(
      JsonSchema.fromSchemaDraft2020_12(parameters as JsonSchema.JsonSchema),
      { patterns: "ignore", onEnter: closed }
    ) as Schema.Codec<unknown, unknown>
    return strictParameters(schema)
  } catch {
    return undefined
  }
}

const derived = new WeakMap<ToolDefinition, StrictParameters | null>()

/**
 * The strict variant of a tool: from its Effect schema when the source gives one (every
 * limit then still holds on decoding), else from its JSON Schema; undefined when strict mode
 * cannot express it. Derived once per definition, so a source's constant definitions cost
 * one derivation per process.
 */
export const strictVariant = (tool: ToolDefinition): StrictParameters | undefined => {
  let variant = derived.get(tool)
  if (variant === undefined) {
    variant =
      (tool.parametersSchema === undefined
        ? strictParametersFromJsonSchema(tool.parameters)
        : strictParameters(tool.parametersSchema)) ?? null
    derived.set(tool, variant)
  }
  return variant ?? undefined
}
