/**
 * Traces as an operator receives them: `taskport serve` with an OTLP endpoint configured the
 * OpenTelemetry way sends its spans there, and a request's trace shows the use case with the
 * repository step and its SQL statement under it.
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { killAll, start } from "@taskport/test-support/ServerProcess"
import { afterAll, describe, expect, it } from "vitest"

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
}

interface OtlpExport {
  readonly resourceSpans: ReadonlyArray<{
    readonly resource: {
      readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: unknown }>
    }
    readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }>
  }>
}

afterAll(() => killAll())

describe("traces over OTLP", () => {
  it("O11: a request's spans reach the collector, the repository and its statement under the use case", async () => {
    const exports: Array<OtlpExport> = []
    const paths: Array<string> = []
    const collector = Http.createServer((request, response) => {
      let body = ""
      request.on("data", (chunk: Buffer) => (body += chunk.toString()))
      request.on("end", () => {
        paths.push(request.url ?? "")
        exports.push(JSON.parse(body) as OtlpExport)
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve))
    try {
      const { port } = collector.address() as AddressInfo
      const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "taskport-traces-"))
      const server = await start(Path.join(cwd, "data"), cwd, {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: "100"
      })
      const created = await fetch(`${server.base}/api/v1/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify({ title: "Traced" })
      })
      expect(created.status).toBe(201)

      const spans = () =>
        exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)))
      const deadline = Date.now() + 20_000
      while (
        !spans().some((span) => span.name === "PgTaskRepository.insertWithin") &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const all = spans()
      const byId = new Map(all.map((span) => [span.spanId, span]))
      const ancestors = (span: OtlpSpan): Array<string> => {
        const names: Array<string> = []
        for (let at = span.parentSpanId; at !== undefined && at !== ""; at = byId.get(at)?.parentSpanId) {
          const parent = byId.get(at)
          if (parent === undefined) break
          names.push(parent.name)
        }
        return names
      }
      const insert = all.find((span) => span.name === "PgTaskRepository.insertWithin")
      expect(insert, JSON.stringify(all.map((span) => span.name))).toBeDefined()
      expect(ancestors(insert!)).toContain("TodoService.create")
      // The statement itself is a span of the repository call's.
      expect(all.some((span) => span.parentSpanId === insert!.spanId)).toBe(true)
      expect(paths.every((path) => path === "/v1/traces")).toBe(true)
      const service = exports[0]!.resourceSpans[0]!.resource.attributes.find((a) => a.key === "service.name")
      expect(service?.value).toEqual({ stringValue: "taskport" })
    } finally {
      collector.close()
    }
  }, 60_000)
})
