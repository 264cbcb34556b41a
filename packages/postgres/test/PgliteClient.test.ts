/**
 * The embedded database's data directory lock: while one process has a directory open,
 * another process is refused with an error naming the directory and the data stays intact;
 * the data outlives the process, and a lock left behind by a dead process is taken over.
 *
 * The second process is a real one, because the lock deliberately ignores its own pid (a
 * restarted container often gets the same pid as the one that left the lock behind).
 */
import { execFile, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { type NewTask, TaskRepository, UserId } from "@taskport/core"
import { PgDatabase } from "@taskport/postgres"
import { Effect, Option } from "effect"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const sourceUrl = pathToFileURL(Path.join(packageDir, "src", "index.ts")).href

// Runs in a separate Node process (which strips the types of the package sources) and
// reports, as JSON, whether it could open the data directory.
const SECOND_PROCESS = `
const [sourceUrl, dataDir] = process.argv.slice(1)
const { PgDatabase } = await import(sourceUrl)
const { Cause, Effect, Exit, Layer } = await import("effect")
const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(PgDatabase.layerPglite({ dataDir }))))
const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
process.stdout.write(JSON.stringify(
  error === undefined ? { opened: true } : { opened: false, tag: error._tag, message: error.message }
))
`

interface OpenAttempt {
  readonly opened: boolean
  readonly tag?: string
  readonly message?: string
}

const openFromAnotherProcess = (dataDir: string) =>
  Effect.tryPromise(async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "-e", SECOND_PROCESS, sourceUrl, dataDir],
      { cwd: packageDir }
    )
    return JSON.parse(stdout) as OpenAttempt
  })

/** The pid of a process that has already exited. */
const deadPid = (): number => {
  const pid = spawnSync(process.execPath, ["-e", ""]).pid
  if (pid === undefined) throw new Error("could not start a process")
  expect(() => process.kill(pid, 0)).toThrow()
  return pid
}

const task = (title: string): NewTask => ({
  title,
  description: null,
  priority: "medium",
  due: null,
  tags: []
})

describe("PGlite data directory", () => {
  // The tests run in order on one directory: initialising a data directory takes seconds.
  const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-pglite-"))
  const lockFile = Path.join(dataDir, "taskport.lock")
  const owner = UserId.make(`u-${crypto.randomUUID()}`)
  afterAll(() => Fs.rmSync(dataDir, { recursive: true, force: true }))

  it.live(
    "R17: another process is refused with an error naming the directory, and the data stays usable",
    () =>
      Effect.gen(function* () {
        const repo = yield* TaskRepository
        const written = yield* repo.insert(owner, task("written before"))
        expect(Fs.readFileSync(lockFile, "utf8")).toBe(String(process.pid))

        const attempt = yield* openFromAnotherProcess(dataDir)
        expect(attempt.opened).toBe(false)
        expect(attempt.tag).toBe("DataDirectoryLocked")
        expect(attempt.message).toContain(dataDir)
        expect(attempt.message).toContain(`pid ${process.pid}`)

        // The refused process touched nothing: the lock is still ours and the database works.
        expect(Fs.readFileSync(lockFile, "utf8")).toBe(String(process.pid))
        expect(yield* repo.find(owner, written.id)).toEqual(Option.some(written))
        yield* repo.insert(owner, task("written after"))
      }).pipe(Effect.provide(PgDatabase.layerPglite({ dataDir }))),
    120_000
  )

  it.live(
    "R17: closing releases the lock, the data persists, and a dead process's lock is taken over",
    () =>
      Effect.gen(function* () {
        expect(Fs.existsSync(lockFile)).toBe(false)
        Fs.writeFileSync(lockFile, String(deadPid()))

        const titles = yield* Effect.gen(function* () {
          const repo = yield* TaskRepository
          expect(Fs.readFileSync(lockFile, "utf8")).toBe(String(process.pid))
          const slice = yield* repo.list(owner, {
            status: "all",
            sort: "created_at",
            order: "asc",
            limit: 10
          })
          return slice.items.map((item) => item.title)
        }).pipe(Effect.provide(PgDatabase.layerPglite({ dataDir })))

        expect(titles).toEqual(["written before", "written after"])
        expect(Fs.existsSync(lockFile)).toBe(false)
      }),
    120_000
  )
})
