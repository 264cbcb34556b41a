/**
 * One Vitest run for the whole workspace. Packages import each other by name; the alias
 * points those names at their sources so tests need no build step.
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = fileURLToPath(new URL(".", import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@taskport\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@taskport\/([a-z-]+)\/([A-Za-z]+)$/, replacement: `${root}packages/$1/src/$2.ts` }
    ]
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: two workers keep PGlite start-ups from starving each other.
    maxWorkers: 2
  }
})
