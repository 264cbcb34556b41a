/**
 * The `/docs` page: Swagger UI rendering the OpenAPI document, served entirely from the
 * installed `swagger-ui-dist` package so it works offline and behind strict networks.
 */
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { Option, Schema } from "effect"

const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png"
}

/** The asset route's path parameter. */
export const DocsAssetPath = Schema.Struct({
  file: Schema.String.annotate({ description: "One of the documentation page's files." })
})

const assetDirectory = Path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"))
const cache = new Map<string, Uint8Array<ArrayBuffer>>()

/** One of the whitelisted Swagger UI files; loaded lazily and kept, since they never change. */
export const docsAsset = (
  file: string
): Option.Option<{ readonly body: Uint8Array<ArrayBuffer>; readonly type: string }> => {
  const type = ASSETS[file]
  if (type === undefined) return Option.none()
  let body = cache.get(file)
  if (body === undefined) {
    body = new Uint8Array(Fs.readFileSync(Path.join(assetDirectory, file)))
    cache.set(file, body)
  }
  return Option.some({ body, type })
}

/**
 * The page's own start-up script, served as an asset so the policy below can forbid inline
 * scripts. Authorisation stays in the page's memory: a pasted token is never written to
 * localStorage, where any script on the origin could read it later.
 */
const initScript = (specUrl: string): string =>
  `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specUrl)}, dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: false })\n`

/** The start-up script's asset name. */
export const DOCS_INIT = "docs-init.js"

export const docsInitAsset = (specUrl: string) => ({
  body: new TextEncoder().encode(initScript(specUrl)),
  type: "text/javascript; charset=utf-8"
})

/**
 * The page's security headers: scripts only from this origin, no framing (clickjacking of
 * the Authorize dialog), nothing sent anywhere but back here. Swagger UI sets inline styles.
 */
export const DOCS_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

export const docsPage = (): string => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Taskport API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/${DOCS_INIT}"></script>
</body>
</html>
`
