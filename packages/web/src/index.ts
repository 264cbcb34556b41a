/**
 * @taskport/web: the files of the built web app, read once into memory so the server can
 * answer them without touching the disk again. The app itself lives in `app/` and is built
 * by Vite (`scripts/build.ts`) into `build/`; file names under `assets/` carry a content
 * hash, so they may be cached for good.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

export interface WebFile {
  readonly body: Uint8Array<ArrayBuffer>
  readonly type: string
  /** Whether the name carries a content hash (cacheable for good). */
  readonly immutable: boolean
}

export interface WebBundle {
  /** The page served at `/`. */
  readonly index: WebFile
  /** Every other file, by its path below the root (`assets/index-1a2b3c.js`). */
  readonly files: ReadonlyMap<string, WebFile>
}

/** Where the build writes the app; the same from `src/` (tests) and `dist/` (built). */
export const BUILD_DIR = fileURLToPath(new URL("../build/", import.meta.url))

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2"
}

const walk = (dir: string, prefix = ""): Array<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? walk(Path.join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`]
  )

const read = (dir: string, name: string): WebFile | undefined => {
  const type = TYPES[Path.extname(name)]
  if (type === undefined) return undefined
  return {
    body: new Uint8Array(Fs.readFileSync(Path.join(dir, name))),
    type,
    immutable: name.startsWith("assets/")
  }
}

/** The built app, or undefined when it has not been built (the server then says how to build it). */
export const load = (dir: string = BUILD_DIR): WebBundle | undefined => {
  if (!Fs.existsSync(Path.join(dir, "index.html"))) return undefined
  const index = read(dir, "index.html")
  if (index === undefined) return undefined
  const files = new Map<string, WebFile>()
  for (const name of walk(dir)) {
    if (name === "index.html" || name === "size.json") continue
    const file = read(dir, name)
    if (file !== undefined) files.set(name, file)
  }
  return { index, files }
}
