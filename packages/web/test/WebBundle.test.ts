/**
 * The web app's files as the server gets them: read from a build directory with their
 * content types, hashed files marked cacheable for good, nothing when there is no build; and
 * the REST app answering them (or, without a build, a page saying how to build it).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { PgDatabase } from "@taskport/postgres"
import { makeApp, send, servicesLayer } from "@taskport/test-support/RestHarness"
import * as WebApp from "@taskport/web"
import { Effect } from "effect"

const buildDir = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-web-build-"))
  Fs.mkdirSync(Path.join(dir, "assets"))
  Fs.writeFileSync(
    Path.join(dir, "index.html"),
    '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>'
  )
  Fs.writeFileSync(Path.join(dir, "assets", "app-1a2b.js"), "console.log(1)")
  Fs.writeFileSync(Path.join(dir, "assets", "app-3c4d.css"), "body{}")
  Fs.writeFileSync(Path.join(dir, "assets", "notes.txt"), "not served")
  Fs.writeFileSync(Path.join(dir, "size.json"), "{}")
  return dir
}

describe("web bundle", () => {
  it("U1: the build is read with content types, hashed files cacheable, unknown kinds and the size report left out", () => {
    const bundle = WebApp.load(buildDir())
    expect(bundle?.index.type).toBe("text/html; charset=utf-8")
    expect(bundle?.index.immutable).toBe(false)
    expect([...(bundle?.files.keys() ?? [])].sort()).toEqual(["assets/app-1a2b.js", "assets/app-3c4d.css"])
    expect(bundle?.files.get("assets/app-1a2b.js")).toMatchObject({
      type: "text/javascript; charset=utf-8",
      immutable: true
    })
    expect(WebApp.load(Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-web-none-")))).toBeUndefined()
  })

  layer(servicesLayer(PgDatabase.layerPglite()), { timeout: 120_000 })((it) => {
    it.effect("U1: the REST app serves the page and its assets, and says how to build a missing app", () =>
      Effect.gen(function* () {
        const app = yield* makeApp({
          web: { files: WebApp.load(buildDir()), connectOrigins: ["https://auth.example.com"] }
        })
        const page = yield* send(app, "GET", "/")
        expect(page.status).toBe(200)
        expect(page.headers.get("content-security-policy")).toContain(
          "connect-src 'self' https://auth.example.com"
        )
        expect(page.headers.get("x-content-type-options")).toBe("nosniff")
        expect(page.text).toContain("/assets/app-1a2b.js")
        const script = yield* send(app, "GET", "/assets/app-1a2b.js")
        expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
        expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
        expect((yield* send(app, "GET", "/assets/notes.txt")).status).toBe(404)
        expect((yield* send(app, "GET", "/assets/..%2Findex.html")).status).toBe(404)
        expect((yield* send(app, "POST", "/")).status).toBe(405)

        const unbuilt = yield* makeApp({ web: { files: undefined } })
        const missing = yield* send(unbuilt, "GET", "/")
        expect(missing.status).toBe(200)
        expect(missing.text).toContain("has not been built")
        // Without the web option (an embedding of the API alone) / stays a JSON 404.
        const apiOnly = yield* makeApp()
        expect((yield* send(apiOnly, "GET", "/")).status).toBe(404)
      })
    )
  })
})
