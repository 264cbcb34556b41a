/**
 * Human-facing start-up and shutdown messages. They go to stderr so that stdout stays clean
 * for program output and, under `taskport mcp`, for protocol messages only.
 */
export type Announce = (line: string) => void

export const stderr: Announce = (line) => process.stderr.write(`${line}\n`)
