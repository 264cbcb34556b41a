/**
 * A local HTTP endpoint that receives webhook deliveries for the suites: it keeps every
 * request (headers and body as sent), answers with whatever status the suite sets, and
 * counts deliveries by `webhook-id`.
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
  readonly close: () => Promise<void>
}

export const startReceiver = (): Promise<WebhookReceiver> =>
  new Promise((resolve) => {
    const received: Array<ReceivedDelivery> = []
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
        response.statusCode = typeof answer === "number" ? answer : answer(delivery)
        response.end()
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
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
