/**
 * The public routes around the API: its OpenAPI document, the documentation page and its
 * assets, liveness (`/health`) and readiness (`/ready`, which asks the database).
 */
import { Effect, Option } from "effect"
import { HTTPResponse } from "h3"
import { DOCS_HEADERS, DOCS_INIT, docsAsset, docsInitAsset, docsPage } from "./Docs.ts"
import { notFound, notReady } from "./HttpFailure.ts"
import { makeOpenApi } from "./OpenApi.ts"
import { json } from "./Responses.ts"
import type { Route } from "./Route.ts"

export const OPENAPI_PATH = "/api/v1/openapi.json"

const READY_TIMEOUT = "2 seconds"

/** The meta routes; `ready` is the readiness check (none: always ready). */
export const routes = (ready: Effect.Effect<unknown, unknown> = Effect.void): ReadonlyArray<Route> => {
  const openApi = JSON.stringify(makeOpenApi())
  const initAsset = docsInitAsset(OPENAPI_PATH)
  return [
    {
      access: "public",
      method: "GET",
      path: OPENAPI_PATH,
      handle: () =>
        Effect.succeed(new HTTPResponse(openApi, { headers: { "content-type": "application/json" } }))
    },
    {
      access: "public",
      method: "GET",
      path: "/docs",
      handle: () =>
        Effect.succeed(
          new HTTPResponse(docsPage(), {
            headers: { "content-type": "text/html; charset=utf-8", ...DOCS_HEADERS }
          })
        )
    },
    {
      access: "public",
      method: "GET",
      path: "/docs/assets/{file}",
      handle: (event) =>
        Option.match(
          event.context.params?.file === DOCS_INIT
            ? Option.some(initAsset)
            : docsAsset(event.context.params?.file ?? ""),
          {
            onNone: () => Effect.fail(notFound()),
            onSome: (asset) =>
              Effect.succeed(
                new HTTPResponse(asset.body, {
                  headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" }
                })
              )
          }
        )
    },
    {
      access: "public",
      method: "GET",
      path: "/health",
      handle: () => Effect.succeed(json({ status: "ok" }))
    },
    {
      access: "public",
      method: "GET",
      path: "/ready",
      handle: () =>
        ready.pipe(
          Effect.timeout(READY_TIMEOUT),
          Effect.as(json({ status: "ready" })),
          Effect.catchCause(() => Effect.fail(notReady()))
        )
    }
  ]
}
