/**
 * The shared request log: a valid caller id is kept and anything else replaced, the answer
 * is stamped with the id, and the one line names the request, its status and its user.
 */
import { describe, expect, it } from "@effect/vitest"
import { RequestLog } from "@taskport/http"

const request = (headers: Record<string, string> = {}) =>
  new Request("http://test.local/api/v1/tasks?query=secret", { method: "GET", headers })

describe("RequestLog", () => {
  it("O4: keeps a plain caller id and replaces one that is not", () => {
    expect(RequestLog.requestIdOf(request({ "x-request-id": "abc-1.2:3" }))).toBe("abc-1.2:3")
    for (const bad of ['a"b', "a b", "x".repeat(129)]) {
      expect(RequestLog.requestIdOf(request({ "x-request-id": bad }))).toMatch(/^[0-9a-f-]{36}$/)
    }
    expect(RequestLog.requestIdOf(request())).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("O5: one line per request with the id, the path without its query, the status and the user", async () => {
    const lines: Array<RequestLog.LogEntry> = []
    const handler = RequestLog.logged(
      (entry) => lines.push(entry),
      "/api/v1/tasks",
      (_request, scope) => {
        scope.user = "alice"
        return new Response(null, { status: 204 })
      }
    )
    const response = await handler(request({ "x-request-id": "trace-1" }))
    expect(response.headers.get("x-request-id")).toBe("trace-1")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: "info",
      msg: "request",
      request_id: "trace-1",
      method: "GET",
      path: "/api/v1/tasks",
      route: "/api/v1/tasks",
      status: 204,
      user: "alice"
    })
    expect(JSON.stringify(lines[0])).not.toContain("secret")
  })
})
