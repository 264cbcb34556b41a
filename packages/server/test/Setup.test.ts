/**
 * The set-up edges of a checkout: `npx taskport` reaches the command npm linked (a bin that
 * exists before anything is built, and says how to build when nothing is), and the Node
 * check that `npm start` and `npm test` run first refuses an old Node in one line.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const LINKED_BIN = Path.join(ROOT, "packages/server/bin/taskport.js")
const CHECK = Path.join(ROOT, "scripts/check-node.cjs")

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const run = (file: string, args: ReadonlyArray<string>, cwd: string): Promise<Outcome> =>
  promisify(execFile)(file, [...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr
    })
  )

describe("taskport from a checkout", () => {
  it("E1: `npx taskport --help` runs the command npm linked at install", async () => {
    const help = await run("npx", ["--no-install", "taskport", "--help"], ROOT)
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: taskport <command> \[options\]\n/)
    expect(help.stdout).toContain("serve")
    expect(help.stdout).toContain("migrate")
  }, 60_000)

  it("E2: without a build the linked bin says in one line how to build, and exits non-zero", async () => {
    // The linked bin alone, as in a checkout before its first build: no dist beside it.
    const unbuilt = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-unbuilt-"))
    Fs.mkdirSync(Path.join(unbuilt, "bin"))
    Fs.copyFileSync(LINKED_BIN, Path.join(unbuilt, "bin/taskport.js"))
    Fs.writeFileSync(Path.join(unbuilt, "package.json"), JSON.stringify({ type: "module" }))
    const outcome = await run(process.execPath, [Path.join(unbuilt, "bin/taskport.js"), "--help"], unbuilt)
    expect(outcome.code).toBe(1)
    expect(outcome.stdout).toBe("")
    expect(outcome.stderr).toBe("taskport: not built yet; run `npx tsc -b` at the repository root first\n")
  })
})

describe("the Node version check before npm start and npm test", () => {
  const { check, requiredRange } = createRequire(import.meta.url)(CHECK) as {
    check: (version: string, range: string) => string | undefined
    requiredRange: () => string
  }

  it("E3: refuses a Node older than engines.node in one line naming the version needed", () => {
    expect(requiredRange()).toBe(
      (JSON.parse(Fs.readFileSync(Path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } })
        .engines.node
    )
    const message = check("v20.20.2", ">=22.12")
    expect(message).toBe(
      "Taskport needs Node 22.12 or newer; this is Node 20.20.2 (see the README's Quick start)."
    )
    expect(check("22.11.9", ">=22.12")).toContain("needs Node 22.12 or newer")
    expect(check("18", ">=22.12")).toContain("this is Node 18")
    expect(check("22.12.0", ">=22.12")).toBeUndefined()
    expect(check("24.1.0", ">=22.12")).toBeUndefined()
  })

  it("E4: as a script it exits non-zero with that one line for an old version, and passes on this Node", async () => {
    const old = await run(process.execPath, [CHECK, "20.20.2"], ROOT)
    expect(old.code).toBe(1)
    expect(old.stdout).toBe("")
    expect(old.stderr).toBe(`${check("20.20.2", requiredRange())}\n`)
    expect(old.stderr.trim().split("\n")).toHaveLength(1)

    const current = await run(process.execPath, [CHECK], ROOT)
    expect(current).toEqual({ code: 0, stdout: "", stderr: "" })
  })

  it("E5: npm runs it before start and test", () => {
    const { scripts } = JSON.parse(Fs.readFileSync(Path.join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>
    }
    expect(scripts.prestart).toBe("node scripts/check-node.cjs")
    expect(scripts.pretest).toBe("node scripts/check-node.cjs")
  })
})
