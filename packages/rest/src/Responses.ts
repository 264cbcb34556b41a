/**
 * The success answers of the REST surface. Their bodies are whole strings, never streams:
 * srvx then writes the body with its length to the socket in one call with the headers,
 * where a web `Response`'s stream goes out in chunks.
 */
import { HTTPResponse } from "h3"

/**
 * An answer that keeps its headers as the plain object it was given, so that the app can
 * add its own and send them without building a `Headers` (each of whose writes validates,
 * lower-cases and sorts: some 4% of a small request).
 */
export class Answer extends HTTPResponse {
  readonly fields: Readonly<Record<string, string>>
  constructor(
    body: BodyInit | null,
    init: { readonly status?: number; readonly headers?: Record<string, string> } = {}
  ) {
    super(body, init)
    this.fields = init.headers ?? {}
  }
}

export const json = (value: unknown, status = 200, headers: Record<string, string> = {}): Answer =>
  new Answer(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers }
  })

export const noContent = (): Answer => new Answer(null, { status: 204 })

export const notModified = (etag: string): Answer => new Answer(null, { status: 304, headers: { etag } })
