/**
 * A loopback port free at the moment of asking, for a process that must be told its port
 * before it starts (a server's inspector, a second server beside the one under test), or
 * one nothing listens on, for a peer that must refuse every connection.
 */
import * as Net from "node:net"

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = Net.createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as Net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
