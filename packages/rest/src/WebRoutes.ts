/**
 * The web app's public routes: its page at `/` and its files. The page is never cached (it
 * names the current hashed files); hashed files are cached for a year. Every answer carries
 * a content security policy that allows only this origin (and, for sign-in, the Better Auth
 * server), so the app cannot load or send anything elsewhere.
 */
import { Effect } from "effect"
import { HTTPResponse } from "h3"
import { notFound } from "./HttpFailure.ts"
import type { Route } from "./Route.ts"

export interface WebAppFile {
  readonly body: Uint8Array<ArrayBuffer>
  readonly type: string
  readonly immutable: boolean
}

export interface WebAppFiles {
  readonly index: WebAppFile
  readonly files: ReadonlyMap<string, WebAppFile>
}

export interface WebOptions {
  /** The built app; undefined when it was not built (`/` then says how to build it). */
  readonly files: WebAppFiles | undefined
  /** Origins the app may call besides its own (the Better Auth server). */
  readonly connectOrigins?: ReadonlyArray<string> | undefined
}

export const contentSecurityPolicy = (connectOrigins: ReadonlyArray<string> = []) =>
  [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${["'self'", ...connectOrigins].join(" ")}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Taskport</title></head>
<body><main><h1>Taskport</h1><p>The web app has not been built. Run <code>npm install</code> (or
<code>node packages/web/scripts/build.ts</code>) and start the server again. The API is at
<a href="/docs">/docs</a>.</p></main></body></html>
`

export const routes = (options: WebOptions): ReadonlyArray<Route> => {
  const security = {
    "content-security-policy": contentSecurityPolicy(options.connectOrigins),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer"
  }
  const answer = (file: WebAppFile) =>
    new HTTPResponse(file.body, {
      headers: {
        "content-type": file.type,
        "cache-control": file.immutable ? "public, max-age=31536000, immutable" : "no-cache",
        ...security
      }
    })
  const files = options.files
  return [
    {
      access: "public",
      method: "GET",
      path: "/",
      handle: () =>
        Effect.succeed(
          files === undefined
            ? new HTTPResponse(NOT_BUILT, {
                headers: {
                  "content-type": "text/html; charset=utf-8",
                  "cache-control": "no-cache",
                  ...security
                }
              })
            : answer(files.index)
        )
    },
    {
      access: "public",
      method: "GET",
      path: "/assets/{file}",
      handle: (event) => {
        const file = files?.files.get(`assets/${event.context.params?.file ?? ""}`)
        return file === undefined ? Effect.fail(notFound()) : Effect.succeed(answer(file))
      }
    }
  ]
}
