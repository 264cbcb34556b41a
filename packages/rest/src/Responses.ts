/**
 * The success answers of the REST surface. They are h3 `HTTPResponse`s rather than web
 * `Response`s: h3 then hands srvx the body as one string with its length, which Node writes
 * to the socket in one call with the headers, where a web `Response` is streamed in chunks.
 */
import { HTTPResponse } from "h3"

export const json = (value: unknown, status = 200, headers: Record<string, string> = {}): HTTPResponse =>
  new HTTPResponse(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers }
  })

export const noContent = (): HTTPResponse => new HTTPResponse(null, { status: 204 })

export const notModified = (etag: string): HTTPResponse =>
  new HTTPResponse(null, { status: 304, headers: { etag } })
