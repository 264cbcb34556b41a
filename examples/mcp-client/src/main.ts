/**
 * An MCP client for a running Taskport: connects over Streamable HTTP with a bearer token,
 * lists the tools and creates a task. Run with
 * `TASKPORT_URL=http://127.0.0.1:8787 TASKPORT_TOKEN=<token> node src/main.ts "Task title"`.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"

const base = process.env.TASKPORT_URL ?? "http://127.0.0.1:8787"
const token = process.env.TASKPORT_TOKEN
if (token === undefined) {
  console.error("Set TASKPORT_TOKEN (npm run taskport -- token <user> prints one in dev mode)")
  process.exit(2)
}

const client = new Client({ name: "taskport-example", version: "1.0.0" })
await client.connect(
  new StreamableHTTPClientTransport(new URL("/mcp", base), {
    requestInit: { headers: { authorization: `Bearer ${token}` } }
  })
)
const { tools } = await client.listTools()
console.log(`Tools: ${tools.map((tool) => tool.name).join(", ")}`)
const result = await client.callTool({
  name: "todo_create",
  arguments: { title: process.argv[2] ?? "Try Taskport over MCP", tags: ["mcp"] }
})
const task = result.structuredContent as { id: number; title: string }
console.log(
  result.isError ? `Failed: ${JSON.stringify(result.content)}` : `Created task ${task.id}: ${task.title}`
)
await client.close()
