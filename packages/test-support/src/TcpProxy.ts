/**
 * A small TCP proxy for fault injection: forwards connections to a target (the real
 * Postgres) until it is cut, which destroys every open connection and refuses new ones, and
 * forwards again once restored, on the same port.
 */
import * as Net from "node:net"
import { Effect, type Scope } from "effect"

export interface TcpProxy {
  readonly port: number
  /** Drops every connection and refuses new ones. */
  readonly cut: () => void
  readonly restore: () => void
  readonly close: () => Promise<void>
  /** Connections accepted so far, for the suite's report. */
  readonly accepted: () => number
  /** Chunks of data the clients have sent so far: on loopback, one per write a client made. */
  readonly sent: () => number
}

export const startProxy = (target: { readonly host: string; readonly port: number }): Promise<TcpProxy> =>
  new Promise((resolve) => {
    const sockets = new Set<Net.Socket>()
    let open = true
    let accepted = 0
    let sent = 0
    const server = Net.createServer((client) => {
      if (!open) {
        client.destroy()
        return
      }
      accepted++
      const upstream = Net.connect(target)
      sockets.add(client)
      sockets.add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      client.on("error", drop).on("close", drop)
      upstream.on("error", drop).on("close", drop)
      client.on("data", () => {
        sent++
      })
      client.pipe(upstream)
      upstream.pipe(client)
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      resolve({
        port: address.port,
        cut: () => {
          open = false
          for (const socket of sockets) socket.destroy()
          sockets.clear()
        },
        restore: () => {
          open = true
        },
        close: () =>
          new Promise((done) => {
            open = false
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
        accepted: () => accepted,
        sent: () => sent
      })
    })
  })

const USUAL_PORTS: Readonly<Record<string, number>> = {
  "postgres:": 5432,
  "postgresql:": 5432,
  "redis:": 6379,
  "nats:": 4222
}

/**
 * A proxy in front of the service a URL names, and the same URL through the proxy (its
 * credentials, database and options kept), for a suite that counts or cuts the traffic.
 */
export const startProxyFor = async (
  url: string
): Promise<{ readonly proxy: TcpProxy; readonly url: string }> => {
  const target = new URL(url)
  const port = target.port === "" ? USUAL_PORTS[target.protocol] : Number(target.port)
  if (port === undefined) throw new Error(`No usual port for ${target.protocol} URLs: name one in ${url}`)
  const proxy = await startProxy({ host: target.hostname, port })
  const through = new URL(url)
  through.hostname = "127.0.0.1"
  through.port = String(proxy.port)
  return { proxy, url: through.href }
}

/** `startProxyFor` in an Effect suite: the proxy closes with the scope. */
export const proxyFor = (
  url: string
): Effect.Effect<{ readonly proxy: TcpProxy; readonly url: string }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startProxyFor(url)),
    ({ proxy }) => Effect.promise(() => proxy.close())
  )
