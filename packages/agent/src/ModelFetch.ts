/**
 * The `fetch` the model client is given: one request over `node:http` or `node:https` with
 * keep-alive agents, answered as a web `Response`. The platform's `fetch` (undici) builds a
 * `Request`, validates every header and streams each body through web streams; a chat turn
 * makes three model requests of some 20 KB each, and that machinery was a fifth of a turn's
 * server time. Here a whole JSON answer is read into one buffer before the `Response` is made
 * from it; an event stream (a streamed completion) is handed on as it arrives.
 *
 * It takes what the `openai` client sends: a string or byte body, headers, a method and an
 * abort signal (its timeout and the caller's). Anything else (a streamed upload), and every
 * request when the caller says Node is told to use the environment's proxy
 * (`NODE_USE_ENV_PROXY=1`, `--use-env-proxy`), goes to the platform's `fetch`, which
 * handles them.
 */
import * as Http from "node:http"
import * as Https from "node:https"
import { type Duplex, Readable } from "node:stream"
import * as Zlib from "node:zlib"

/** The `fetch` signature the `openai` client accepts. */
export type ModelFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Statuses whose response has no body, which `Response` refuses one for. */
const NULL_BODY = new Set([101, 204, 205, 304])

const headersOf = (raw: ReadonlyArray<string>): Headers => {
  const headers = new Headers()
  for (let index = 0; index + 1 < raw.length; index += 2) {
    // A response header the web API cannot hold is dropped, as `fetch` would refuse it whole.
    try {
      headers.append(raw[index] as string, raw[index + 1] as string)
    } catch {}
  }
  return headers
}

const plainHeaders = (headers: HeadersInit | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  if (headers instanceof Headers) {
    for (const [name, value] of headers) out[name] = value
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers) if (name !== undefined && value !== undefined) out[name] = value
  } else {
    for (const [name, value] of Object.entries(headers)) out[name] = value
  }
  return out
}

/**
 * The decoder for a compressed body: the request asks for none, but a proxy on the way may
 * compress anyway, and `fetch` would have decoded it.
 */
const decoderFor = (encoding: string | undefined): Duplex | undefined => {
  switch (encoding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return Zlib.createGunzip()
    case "deflate":
      return Zlib.createInflate()
    case "br":
      return Zlib.createBrotliDecompress()
    default:
      return undefined
  }
}

export interface ModelFetchOptions {
  /** Node sends its own requests through the environment's proxy: leave every request to it. */
  readonly useEnvProxy?: boolean | undefined
}

/** A `fetch` with its own keep-alive agents; `close` ends their idle connections. */
export const makeModelFetch = (
  options: ModelFetchOptions = {}
): { readonly fetch: ModelFetch; readonly close: () => void } => {
  const proxied = options.useEnvProxy === true
  const agents = {
    "http:": new Http.Agent({ keepAlive: true }),
    "https:": new Https.Agent({ keepAlive: true })
  }
  const close = () => {
    agents["http:"].destroy()
    agents["https:"].destroy()
  }

  const fetch: ModelFetch = (input, init) => {
    const body = init?.body
    const simpleBody =
      body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array
    if (proxied || !simpleBody || input instanceof Request) return globalThis.fetch(input, init)
    const url = typeof input === "string" ? new URL(input) : input
    const transport = url.protocol === "https:" ? Https : url.protocol === "http:" ? Http : undefined
    if (transport === undefined) return globalThis.fetch(input, init)
    const signal = init?.signal ?? undefined
    if (signal?.aborted) return Promise.reject(signal.reason)

    return new Promise<Response>((resolve, reject) => {
      const headers = plainHeaders(init?.headers)
      if (body !== undefined && body !== null) headers["content-length"] = String(Buffer.byteLength(body))
      const request = transport.request(url, {
        method: init?.method ?? "GET",
        headers,
        agent: agents[url.protocol as "http:" | "https:"],
        ...(signal === undefined ? {} : { signal })
      })
      request.once("error", reject)
      request.once("response", (response) => {
        const status = response.statusCode ?? 0
        const responseInit = {
          status,
          statusText: response.statusMessage ?? "",
          headers: headersOf(response.rawHeaders)
        }
        if (NULL_BODY.has(status) || init?.method === "HEAD") {
          response.resume()
          resolve(new Response(null, responseInit))
          return
        }
        const decoder = decoderFor(response.headers["content-encoding"])
        const source: Readable = decoder === undefined ? response : response.pipe(decoder)
        if (decoder !== undefined) response.once("error", (error) => decoder.destroy(error))
        if ((response.headers["content-type"] ?? "").startsWith("text/event-stream")) {
          resolve(new Response(Readable.toWeb(source) as ReadableStream<Uint8Array>, responseInit))
          return
        }
        const chunks: Array<Buffer> = []
        source.on("data", (chunk: Buffer) => chunks.push(chunk))
        source.once("error", reject)
        source.once("end", () => {
          const whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
          resolve(new Response(whole as Uint8Array<ArrayBuffer>, responseInit))
        })
      })
      request.end(body ?? undefined)
    })
  }
  return { fetch, close }
}
