/**
 * The REST body rules over the shared body reader: JSON only (415 otherwise), within the
 * size limit (413), parsed (400 `invalid_json`), and present when the route requires one.
 */
import { BodyReader } from "@taskport/http"
import { Effect } from "effect"
import {
  fromBodyError,
  type HttpFailure,
  invalidJson,
  invalidRequest,
  unsupportedMediaType
} from "./HttpFailure.ts"

export const DEFAULT_MAX_BODY = 1024 * 1024

/** The parsed JSON body, or `undefined` when an optional body is absent or blank. */
export const readJsonBody = (
  request: Request,
  limit: number,
  required: boolean
): Effect.Effect<unknown, HttpFailure> =>
  Effect.gen(function* () {
    const text = yield* BodyReader.readText(request, { limit, mediaType: BodyReader.JSON_MEDIA_TYPE }).pipe(
      Effect.mapError(fromBodyError)
    )
    if (text === undefined || text.trim() === "") {
      if (!required) return undefined
      // An empty request of the wrong type is told about the type first.
      if (text === undefined && !BodyReader.isJson(request.headers.get("content-type"))) {
        return yield* unsupportedMediaType()
      }
      return yield* invalidRequest("A JSON body is required", [])
    }
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => invalidJson("The request body is not valid JSON")
    })
  })

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The body as a JSON object; arrays and scalars are refused. */
export const readJsonObject = (request: Request, limit: number, required: boolean) =>
  Effect.flatMap(readJsonBody(request, limit, required), (body) =>
    body === undefined || isObject(body)
      ? Effect.succeed(body)
      : Effect.fail(invalidRequest("The request body must be a JSON object", []))
  )
