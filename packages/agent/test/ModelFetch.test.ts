/**
 * The model client's `fetch` against a real local HTTP server: request method, headers and
 * body as sent, a JSON answer and an event stream as `Response`s (the stream's chunks arriving
 * before it ends), a compressed body decoded, empty-bodied statuses, abort and refused connections as rejections, and the
 * platform's `fetch` used when Node is told to go through a proxy.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"
import { ModelFetch } from "@taskport/agent"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

const seen: Array<Seen> = []
let releaseStream = () => {}
let base = ""
let server: Http.Server

beforeAll(async () => {
  server = Http.createServer((request, response) => {
    let body = ""
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => {
      body += chunk
    })
    request.on("end", () => {
      seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body })
      if (request.url === "/json") {
        response.writeHead(201, { "content-type": "application/json", "x-request-id": "req_1" })
        // Two writes: the client joins the pieces into one body.
        response.write('{"answer":')
        response.end(`"${"é".repeat(40_000)}"}`)
      } else if (request.url === "/stream") {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write("data: first\n\n")
        releaseStream = () => response.end("data: last\n\n")
      } else if (request.url === "/gzip") {
        response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
        response.end(Zlib.gzipSync(JSON.stringify({ compressed: true })))
      } else if (request.url === "/empty") {
        response.writeHead(204)
        response.end()
      } else if (request.url === "/slow") {
        // Never answers: the caller's signal ends it.
      } else {
        response.writeHead(404)
        response.end("no")
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe("the model client's fetch", () => {
  const client = ModelFetch.makeModelFetch()
  afterAll(() => client.close())

  it("sends the method, headers and body, and answers JSON as a whole Response", async () => {
    const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "héllo" }] })
    const response = await client.fetch(`${base}/json`, {
      method: "POST",
      headers: new Headers({ authorization: "Bearer k", "content-type": "application/json" }),
      body
    })
    expect(response.status).toBe(201)
    expect(response.ok).toBe(true)
    expect(response.headers.get("x-request-id")).toBe("req_1")
    expect(await response.json()).toEqual({ answer: "é".repeat(40_000) })
    const request = seen.at(-1)
    expect(request).toMatchObject({ method: "POST", url: "/json", body })
    expect(request?.headers.authorization).toBe("Bearer k")
    expect(request?.headers["content-length"]).toBe(String(Buffer.byteLength(body)))
  })

  it("reuses its connection for the next request", async () => {
    const first = await client.fetch(`${base}/json`, { method: "POST", body: "{}" })
    await first.text()
    const second = await client.fetch(`${base}/json`, { method: "POST", body: "{}" })
    await second.text()
    const [a, b] = seen.slice(-2)
    expect(a?.headers.connection).toBe("keep-alive")
    expect(b?.headers.connection).toBe("keep-alive")
  })

  it("hands an event stream on as it arrives", async () => {
    const response = await client.fetch(`${base}/stream`, { method: "POST", body: "{}" })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    const first = await reader.read()
    expect(decoder.decode(first.value)).toBe("data: first\n\n")
    releaseStream()
    let rest = ""
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += decoder.decode(chunk.value)
    }
    expect(rest).toBe("data: last\n\n")
  })

  it("decodes a body compressed on the way, as fetch would", async () => {
    const response = await client.fetch(`${base}/gzip`, { method: "POST", body: "{}" })
    expect(await response.json()).toEqual({ compressed: true })
    expect(seen.at(-1)?.headers["accept-encoding"]).toBeUndefined()
  })

  it("gives an empty-bodied status a Response without a body", async () => {
    const response = await client.fetch(`${base}/empty`, { method: "DELETE" })
    expect(response.status).toBe(204)
    expect(response.body).toBeNull()
    const missing = await client.fetch(`${base}/nowhere`)
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe("no")
  })

  it("rejects with an AbortError when the signal fires, before or during the request", async () => {
    const controller = new AbortController()
    const pending = client.fetch(`${base}/slow`, { method: "POST", body: "{}", signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await expect(pending).rejects.toMatchObject({ name: "AbortError" })
    await expect(
      client.fetch(`${base}/json`, { method: "POST", body: "{}", signal: AbortSignal.abort() })
    ).rejects.toMatchObject({ name: "AbortError" })
  })

  it("rejects when nothing listens", async () => {
    const closed = Http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const { port } = closed.address() as AddressInfo
    await new Promise((resolve) => closed.close(resolve))
    await expect(
      client.fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" })
    ).rejects.toMatchObject({
      code: "ECONNREFUSED"
    })
  })

  it("leaves requests to the platform's fetch when Node is told to use a proxy", async () => {
    const original = globalThis.fetch
    const calls: Array<string> = []
    globalThis.fetch = (async (input: string | URL | Request) => {
      calls.push(String(input))
      return new Response("proxied")
    }) as typeof fetch
    try {
      const proxied = ModelFetch.makeModelFetch({ useEnvProxy: true })
      const response = await proxied.fetch(`${base}/json`, { method: "POST", body: "{}" })
      expect(await response.text()).toBe("proxied")
      proxied.close()
    } finally {
      globalThis.fetch = original
    }
    expect(calls).toEqual([`${base}/json`])
  })
})
