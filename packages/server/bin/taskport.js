#!/usr/bin/env node
/**
 * The `taskport` command as npm links it. It lives outside `dist` so that the link exists
 * in a fresh checkout, where npm links bins before anything is built; it loads the compiled
 * command, or says in one line how to build it.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const compiled = new URL("../dist/bin.js", import.meta.url)
if (!existsSync(fileURLToPath(compiled))) {
  process.stderr.write("taskport: not built yet; run `npx tsc -b` at the repository root first\n")
  process.exit(1)
}
await import(compiled.href)
