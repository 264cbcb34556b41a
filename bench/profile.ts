/**
 * Summarises a V8 CPU profile of the server (BENCH_CPU_PROF=<dir> npm run bench) so that
 * "where does a request's time go" has an answer in a few lines:
 *
 *   node bench/profile.ts <file.cpuprofile> [top]
 *
 * Busy time (idle excluded) is split into phases, each sample going to the first phase in the
 * list below that appears anywhere on its stack, then the functions with the most self time.
 * Busy time is the main thread's wall time, not its CPU: inside a loopback socket write it
 * includes the woken reader's turn on the core, so the writes' self time is printed apart.
 */
import * as Fs from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

// Ordered by meaning rather than by depth: schema work under the repository is row decoding,
// whatever library frames sit between.
const PHASES: ReadonlyArray<readonly [string, RegExp]> = [
  ["garbage collection", /^\(garbage collector\)/],
  ["bearer token verification (jose, WebCrypto)", /jose|JoseAuthenticator|node:internal\/crypto/],
  ["row decoding (repository)", /PgTaskRepository|PgConversationRepository/],
  ["tool calls (codecs, handlers, use cases)", /core\/dist\/(TodoTools|TodoService)|effect\/dist\/ai\//],
  ["REST handler", /rest\/dist/],
  ["MCP (SDK, zod, server instance)", /mcp\/dist|@modelcontextprotocol|\/zod\//],
  ["database client (@effect/sql-pg)", /@effect\/sql-pg|effect\/dist\/sql/],
  // Before Node HTTP, so that the model client's own socket writes count as the model client's.
  [
    "chat: agent loop and model client (openai, fetch)",
    /agent\/dist|core\/dist\/ChatService|\/openai\/|undici/
  ],
  ["HTTP framework (h3, srvx)", /h3\/dist|srvx/],
  ["Node HTTP and sockets", /node:_http|node:net|stream_base|node:internal\/streams|^writev |^writeBuffer /],
  ["Effect runtime", /effect\/dist/]
]

const file = process.argv[2]
if (file === undefined) {
  process.stderr.write("usage: node bench/profile.ts <file.cpuprofile> [top]\n")
  process.exit(2)
}
const top = Number(process.argv[3] ?? 25)
const profile = JSON.parse(Fs.readFileSync(file, "utf8")) as Profile

const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
const parents = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
const selfTime = new Map<number, number>()
profile.samples.forEach((id, index) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0))
})

const label = (frame: CallFrame) =>
  `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^file:\/\/.*?node_modules\//, "").replace(/^file:\/\/\/?[^ ]*?\/packages\//, "packages/")}:${frame.lineNumber + 1}`

// The system calls that hand bytes to a socket (Node's stream writes).
const SOCKET_WRITES = new Set(["writeBuffer", "writev", "writeUtf8String", "writeLatin1String"])

let busy = 0
let inWrites = 0
const byPhase = new Map<string, number>()
const byFunction = new Map<string, number>()
for (const [id, micros] of selfTime) {
  const node = nodes.get(id)!
  if (node.callFrame.functionName === "(idle)") continue
  busy += micros
  if (SOCKET_WRITES.has(node.callFrame.functionName) && node.callFrame.url === "") inWrites += micros
  byFunction.set(label(node.callFrame), (byFunction.get(label(node.callFrame)) ?? 0) + micros)
  let phase = PHASES.length
  for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
    const frame = nodes.get(current)!.callFrame
    const text = `${frame.functionName} ${frame.url}`
    PHASES.forEach(([, pattern], index) => {
      if (index < phase && pattern.test(text)) phase = index
    })
  }
  const name = PHASES[phase]?.[0] ?? "other (module loading, timers, microtasks)"
  byPhase.set(name, (byPhase.get(name) ?? 0) + micros)
}

const print = (title: string, entries: Map<string, number>, limit: number) => {
  process.stdout.write(`\n${title}\n`)
  for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    process.stdout.write(
      `${(micros / 1000).toFixed(0).padStart(7)} ms ${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${name}\n`
    )
  }
}

process.stdout.write(`busy ${(busy / 1e6).toFixed(2)} s (idle excluded)\n`)
process.stdout.write(
  `  of which inside socket writes ${(inWrites / 1e6).toFixed(2)} s (${((100 * inWrites) / busy).toFixed(1)}%): ` +
    "on a loopback socket, some of it is the woken reader's turn on the core (docs/performance.md)\n"
)
print("by phase", byPhase, PHASES.length + 1)
print("by function (self time)", byFunction, top)
