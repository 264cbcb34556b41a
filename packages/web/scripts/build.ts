/**
 * Builds the web app with Vite into `build/` when its sources changed since the last build,
 * then reports the gzipped size of its JavaScript and CSS against the budget and fails when
 * the budget is exceeded. `npm install`, `npm start`, `npm test` and `npm run bench` run it,
 * so the app served at `/` is always the one in the sources.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Zlib from "node:zlib"

const root = fileURLToPath(new URL("..", import.meta.url))
const appDir = Path.join(root, "app")
const outDir = Path.join(root, "build")
/** Gzipped JS + CSS the app may weigh. */
export const BUDGET_BYTES = 100 * 1024

const newest = (dir: string): number =>
  Fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = Path.join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : Fs.statSync(path).mtimeMs)
  }, 0)

const stamp = Path.join(outDir, "size.json")
const sourcesChanged = () =>
  !Fs.existsSync(stamp) ||
  Math.max(newest(appDir), Fs.statSync(Path.join(root, "vite.config.ts")).mtimeMs) >
    Fs.statSync(stamp).mtimeMs

if (process.argv.includes("--force") || sourcesChanged()) {
  // A caller's NODE_ENV (Vitest sets "test") would otherwise bundle React's development build.
  process.env.NODE_ENV = "production"
  const { build } = await import("vite")
  await build({ configFile: Path.join(root, "vite.config.ts"), logLevel: "warn", mode: "production" })
  const assets = Path.join(outDir, "assets")
  const sizes = Fs.readdirSync(assets)
    .filter((name) => /\.(js|css)$/.test(name))
    .map((name) => ({
      name,
      gzip: Zlib.gzipSync(Fs.readFileSync(Path.join(assets, name)), { level: 9 }).length
    }))
  const total = sizes.reduce((sum, file) => sum + file.gzip, 0)
  Fs.writeFileSync(
    stamp,
    JSON.stringify({ gzip_bytes: total, budget_bytes: BUDGET_BYTES, files: sizes }, null, 2)
  )
}

const report = JSON.parse(Fs.readFileSync(stamp, "utf8")) as { gzip_bytes: number; budget_bytes: number }
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`
const line = `web app: JS+CSS ${kb(report.gzip_bytes)} gzipped (budget ${kb(BUDGET_BYTES)})`
if (report.gzip_bytes > BUDGET_BYTES) {
  console.error(`${line}: over budget`)
  process.exit(1)
}
console.log(line)
