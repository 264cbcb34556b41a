/**
 * Runs the built `taskport` command as a real process for process-level suites: start a
 * server and wait until it listens (and, in dev mode, printed its token), run one-shot
 * commands, clean up after.
 */
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const BIN = fileURLToPath(new URL("../../server/dist/bin.js", import.meta.url))

export interface Started {
  readonly child: ChildProcess
  readonly base: string
  /** The dev-mode token for user "demo"; empty when authentication is configured. */
  readonly token: string
  readonly output: () => string
}

const children: Array<ChildProcess> = []
/** Kills every process a suite started and left running. */
export const killAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
}

export const env = (dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME }
  // Suites drive servers harder than one person would; limits stay on, far above their load.
  const limits = {
    RATE_LIMIT_PER_MINUTE: "1000000",
    CHAT_RATE_LIMIT_PER_MINUTE: "1000000",
    AUTH_FAILURE_RATE_LIMIT_PER_MINUTE: "1000000"
  }
  return {
    ...clean,
    PORT: "0",
    HOST: "127.0.0.1",
    TASKPORT_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    ...limits,
    ...extra
  }
}

const isDevMode = (extra: NodeJS.ProcessEnv) =>
  extra.BETTER_AUTH_SECRET === undefined &&
  extra.BETTER_AUTH_JWKS_URL === undefined &&
  extra.BETTER_AUTH_URL === undefined

/** Starts `taskport serve` and waits until it is ready to answer. */
export const start = (dataDir: string, cwd: string, extra: NodeJS.ProcessEnv = {}): Promise<Started> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve"], {
      cwd,
      env: env(dataDir, extra),
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const base = /listening on (http:\/\/\S+) /.exec(output)?.[1]
      const token = /Token for user "demo" \(valid 24 h\): (\S+)/.exec(output)?.[1]
      if (base === undefined) return
      if (token !== undefined) resolve({ child, base, token, output: () => output })
      else if (!isDevMode(extra)) resolve({ child, base, token: "", output: () => output })
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on("exit", (code) =>
      reject(new Error(`taskport serve exited with ${code} before it was ready:\n${output}`))
    )
  })

export const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.on("exit", (code) => resolve(code)))

/** Runs a CLI command to completion. */
/** Starts any `taskport` command with its standard streams piped, to talk to it as a user would. */
export const spawnCli = (
  args: ReadonlyArray<string>,
  dataDir: string,
  cwd: string,
  extra: NodeJS.ProcessEnv = {}
): ChildProcessWithoutNullStreams => {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: env(dataDir, extra), stdio: "pipe" })
  children.push(child)
  return child
}

/** Runs a one-shot `taskport` command to its end and reports its exit code and output. */
export const runCli = (
  args: ReadonlyArray<string>,
  dataDir: string,
  cwd: string,
  extra: NodeJS.ProcessEnv = {}
) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: env(dataDir, extra),
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
