/**
 * The one request log line and the request id shared by every HTTP surface (REST, chat,
 * MCP): each request is given an id (a valid incoming X-Request-Id is kept, so a caller can
 * follow its own id through the logs), the answer carries it back, and one JSON entry with
 * the same fields is written when the answer is ready.
 */

export interface LogEntry {
  readonly level: "debug" | "info" | "warn" | "error"
  readonly msg: string
  readonly [key: string]: unknown
}

/** Receives structured entries; the server writes them as JSON lines. */
export type Log = (entry: LogEntry) => void

/** Writes each entry as one JSON line on stderr. */
export const stderrLog: Log = (entry) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`)

export const REQUEST_ID_HEADER = "x-request-id"

// Short and plain, so a caller's id can neither forge log fields nor bloat a line.
const VALID_REQUEST_ID = /^[\w.:-]{1,128}$/

/** The caller's X-Request-Id when it is a plain token, else a fresh UUID. */
export const requestIdOf = (request: Request): string => {
  const given = request.headers.get(REQUEST_ID_HEADER)
  return given !== null && VALID_REQUEST_ID.test(given) ? given : crypto.randomUUID()
}

/** One request in flight: its id, and the user once authentication has named one. */
export interface RequestScope {
  readonly requestId: string
  readonly method: string
  readonly path: string
  /** The route pattern that matched (`/api/v1/tasks/{id}`), for grouping lines by operation. */
  readonly route: string
  readonly started: number
  user: string | undefined
}

/** Starts a request's scope; `path` spares parsing the URL again when the router already did. */
export const begin = (request: Request, route: string, path?: string): RequestScope => ({
  requestId: requestIdOf(request),
  method: request.method,
  // The path only: a query string may carry search text.
  path: path ?? new URL(request.url).pathname,
  route,
  started: performance.now(),
  user: undefined
})

/** The fields naming a request, shared by its request line and any error line about it. */
export const fieldsOf = (scope: RequestScope): Record<string, unknown> => ({
  request_id: scope.requestId,
  method: scope.method,
  path: scope.path,
  route: scope.route,
  ...(scope.user === undefined ? {} : { user: scope.user })
})

/** Writes an error line about a request (its cause for operators, never for the client). */
export const failure = (log: Log, scope: RequestScope | undefined, msg: string, cause?: string): void =>
  log({
    level: "error",
    msg,
    ...(scope === undefined ? {} : fieldsOf(scope)),
    ...(cause === undefined ? {} : { cause })
  })

/** Writes the request's line, for an answer that already carries the request id. */
export const record = (log: Log, scope: RequestScope, status: number): void =>
  log({
    level: "info",
    msg: "request",
    ...fieldsOf(scope),
    status,
    duration_ms: Math.round((performance.now() - scope.started) * 100) / 100
  })

/** Stamps the answer with the request id and writes the request's line. */
export const finish = <R extends { readonly status?: number | undefined; readonly headers: Headers }>(
  log: Log,
  scope: RequestScope,
  response: R
): R => {
  response.headers.set(REQUEST_ID_HEADER, scope.requestId)
  record(log, scope, response.status ?? 200)
  return response
}

/** Wraps a web handler so that its requests get an id and a log line. */
export const logged =
  (
    log: Log,
    route: string,
    handle: (request: Request, scope: RequestScope) => Promise<Response> | Response
  ) =>
  async (request: Request): Promise<Response> => {
    const scope = begin(request, route)
    return finish(log, scope, await handle(request, scope))
  }
