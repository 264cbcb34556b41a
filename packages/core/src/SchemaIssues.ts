/**
 * Schema decoding failures in words: one entry per problem, each naming its field, so a
 * client, a person or a model can correct the input. Every surface (REST, MCP, the agent)
 * reports invalid input through these.
 */
import { type Schema, SchemaIssue } from "effect"

export interface FieldIssue {
  /** The dotted path of the field, empty for the input as a whole. */
  readonly field: string
  readonly message: string
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Every problem of a decoding failure, with the field it is about. */
export const fieldIssues = (error: Schema.SchemaError): ReadonlyArray<FieldIssue> =>
  formatIssues(error.issue).issues.map((issue) => ({
    field: (issue.path ?? [])
      .map((segment) => String(typeof segment === "object" ? segment.key : segment))
      .join("."),
    message: issue.message === "Missing key" ? "is required" : issue.message
  }))

/** Every problem on one line, each prefixed with its field. */
export const describeSchemaError = (error: Schema.SchemaError): string =>
  fieldIssues(error)
    .map((issue) => (issue.field === "" ? issue.message : `${issue.field}: ${issue.message}`))
    .join("; ")
