/**
 * The `UrlGuard` adapter: a URL may be called when it is http(s) and every address its host
 * resolves to is public. Refused: loopback, private (RFC 1918, IPv6 unique local), link-local
 * (which holds the cloud metadata address 169.254.169.254), CGNAT (100.64/10, which holds
 * another provider's metadata address), multicast, unspecified, broadcast and the other
 * reserved ranges, in IPv4, IPv6 and IPv4-mapped IPv6 form. `allowPrivate` lifts the address
 * rule, for local development and tests. `resolve` returns the checked addresses, so the
 * sender connects to exactly what was checked and a name cannot change in between.
 */
import * as Dns from "node:dns"
import * as Net from "node:net"
import { UrlGuard, type UrlRefusal } from "@taskport/core"
import { Effect, Layer } from "effect"

export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** Looks a host name up; the default is the system resolver, every address of the name. */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<ResolvedAddress>>

const systemResolver: Resolver = async (hostname) =>
  (await Dns.promises.lookup(hostname, { all: true, verbatim: true })).map((entry) => ({
    address: entry.address,
    family: entry.family === 6 ? 6 : 4
  }))

const blocked = new Net.BlockList()
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8], // RFC 1918
  ["100.64.0.0", 10], // CGNAT (RFC 6598)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12], // RFC 1918
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // RFC 1918
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4] // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, "ipv4")
}
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local (holds fd00:ec2::254, a metadata address)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8] // multicast
] as const) {
  blocked.addSubnet(network, prefix, "ipv6")
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i
const NAT64 = /^64:ff9b::(\d+\.\d+\.\d+\.\d+)$/i

/** Whether an address is one the server must not call. */
export const isInternal = (address: string): boolean => {
  // An IPv4 address written as IPv6 reaches the IPv4 host: judge that one.
  const embedded = MAPPED.exec(address)?.[1] ?? NAT64.exec(address)?.[1]
  if (embedded !== undefined) return isInternal(embedded)
  const family = Net.isIPv4(address) ? "ipv4" : Net.isIPv6(address) ? "ipv6" : undefined
  if (family === undefined) return true
  // The URL parser writes a mapped address in hex (::ffff:7f00:1); no public endpoint needs
  // that spelling, so every other mapped form is refused rather than decoded.
  if (family === "ipv6" && /^::ffff:/i.test(address)) return true
  return blocked.check(address, family)
}

export interface GuardOptions {
  /** Allow internal addresses too (local development and tests): only the scheme is checked. */
  readonly allowPrivate: boolean
  readonly resolve?: Resolver | undefined
}

const refuse = (reason: string): UrlRefusal => ({ reason })

/** The host of a URL as the resolver and `Net` want it: IPv6 literals without brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, "")

/**
 * The addresses a URL may be called at, every one checked; fails with the reason when the URL
 * may not be called at all.
 */
export const resolveChecked = (
  raw: string,
  options: GuardOptions
): Effect.Effect<ReadonlyArray<ResolvedAddress>, UrlRefusal> =>
  Effect.gen(function* () {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return yield* Effect.fail(refuse("must be an http:// or https:// URL"))
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return yield* Effect.fail(refuse("must be an http:// or https:// URL"))
    const host = hostOf(url)
    const literal = Net.isIP(host)
    const addresses: ReadonlyArray<ResolvedAddress> =
      literal !== 0
        ? [{ address: host, family: literal === 6 ? 6 : 4 }]
        : yield* Effect.tryPromise({
            try: () => (options.resolve ?? systemResolver)(host),
            catch: () => refuse(`its host ${host} could not be resolved`)
          })
    if (addresses.length === 0) return yield* Effect.fail(refuse(`its host ${host} could not be resolved`))
    if (!options.allowPrivate) {
      const internal = addresses.find((entry) => isInternal(entry.address))
      if (internal !== undefined)
        return yield* Effect.fail(
          refuse(
            literal !== 0
              ? `must point to a public address; ${host} is internal`
              : `must point to a public address; ${host} resolves to an internal one`
          )
        )
    }
    return addresses
  })

export const layer = (options: GuardOptions): Layer.Layer<UrlGuard> =>
  Layer.succeed(UrlGuard, UrlGuard.of({ check: (url) => Effect.asVoid(resolveChecked(url, options)) }))
