/**
 * A local HTTP endpoint that receives webhook deliveries for the suites: it keeps every
 * request (headers and body as sent), answers with whatever status the suite sets, and
 * counts deliveries by `webhook-id`. It can also hold its answers (requests stay open until
 * released, as with a slow endpoint) and notes any `webhook-id` that arrives while another
 * request with the same id is still open on a live connection: two attempts at once.
 */
import * as Http from "node:http"
import type * as Net from "node:net"

export interface ReceivedDelivery {
  readonly headers: Record<string, string>
  readonly body: string
}

export interface WebhookReceiver {
  readonly url: string
  readonly port: number
  readonly received: Array<ReceivedDelivery>
  /** Sets the status of the next answers (200 until told otherwise). */
  respondWith: (status: number | ((request: ReceivedDelivery) => number)) => void
  /** How many times each webhook-id arrived. */
  readonly counts: () => Map<string, number>
  /** Keeps the answers of the requests from now on until `release`. */
  readonly hold: () => void
  /** Answers the requests held, and the next ones at once. */
  readonly release: () => void
  /** Requests open now: neither answered nor dropped by their sender. */
  readonly open: () => number
  /** Requests whose sender dropped the connection before the answer. */
  readonly dropped: () => ReadonlyArray<ReceivedDelivery>
  /** The webhook-ids that arrived while a request with the same id was still open. */
  readonly overlapping: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

export const startReceiver = (): Promise<WebhookReceiver> =>
  new Promise((resolve) => {
    const received: Array<ReceivedDelivery> = []
    const dropped: Array<ReceivedDelivery> = []
    const overlapping: Array<string> = []
    const openById = new Map<string, number>()
    let held: Array<() => void> = []
    let holding = false
    let answer: number | ((request: ReceivedDelivery) => number) = 200
    const server = Http.createServer((request, response) => {
      let body = ""
      request.setEncoding("utf8")
      request.on("data", (chunk: string) => (body += chunk))
      request.on("end", () => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(request.headers))
          if (typeof value === "string") headers[name] = value
        const delivery = { headers, body }
        received.push(delivery)
        const id = headers["webhook-id"] ?? ""
        if ((openById.get(id) ?? 0) > 0) overlapping.push(id)
        openById.set(id, (openById.get(id) ?? 0) + 1)
        let settled = false
        const settle = () => {
          if (settled) return
          settled = true
          openById.set(id, (openById.get(id) ?? 1) - 1)
          if (!response.writableFinished) dropped.push(delivery)
        }
        response.on("finish", settle)
        response.on("close", settle)
        const respond = () => {
          if (settled) return
          response.statusCode = typeof answer === "number" ? answer : answer(delivery)
          response.end()
        }
        if (holding) held.push(respond)
        else respond()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}/hook`,
        port,
        received,
        respondWith: (status) => {
          answer = status
        },
        counts: () => {
          const counts = new Map<string, number>()
          for (const delivery of received) {
            const id = delivery.headers["webhook-id"] ?? ""
            counts.set(id, (counts.get(id) ?? 0) + 1)
          }
          return counts
        },
        hold: () => {
          holding = true
        },
        release: () => {
          holding = false
          const waiting = held
          held = []
          for (const respond of waiting) respond()
        },
        open: () => [...openById.values()].reduce((sum, n) => sum + n, 0),
        dropped: () => dropped,
        overlapping: () => overlapping,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
