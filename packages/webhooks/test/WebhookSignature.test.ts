/**
 * The signer and the address guard on their own: signatures checked by the official
 * `standardwebhooks` package, and the guard's refusals with and without private addresses allowed.
 */

import * as Dns from "node:dns"
import { describe, expect, it } from "@effect/vitest"
import { generateSecret } from "@taskport/core"
import { AddressGuard, WebhookSignature } from "@taskport/webhooks"
import { Effect, Exit, Option } from "effect"
import { Webhook } from "standardwebhooks"

describe("Standard Webhooks signatures", () => {
  it("H1: a signed message verifies with the standardwebhooks package, and a changed one does not", () => {
    const secret = generateSecret()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    const body = JSON.stringify({
      type: "task.created",
      timestamp: "2026-11-23T08:00:00.000Z",
      data: { id: 7 }
    })
    const timestamp = Math.floor(Date.now() / 1000)
    const headers = WebhookSignature.headers(secret, "evt_01", timestamp, body)
    const verifier = new Webhook(secret)
    expect(verifier.verify(body, headers)).toEqual(JSON.parse(body))
    // The official signer produces the same signature for the same message.
    expect(verifier.sign("evt_01", new Date(timestamp * 1000), body)).toBe(headers["webhook-signature"])
    expect(() => verifier.verify(`${body} `, headers)).toThrow()
    expect(() => verifier.verify(body, { ...headers, "webhook-id": "evt_02" })).toThrow()
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow()
  })

  it("H1: every secret is new: two secrets never repeat", () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSecret))
    expect(secrets.size).toBe(50)
  })
})

const refused = (url: string, allowPrivate = false) =>
  Effect.runPromise(
    Effect.exit(
      AddressGuard.resolveChecked(url, {
        allowPrivate,
        resolve: async (host) =>
          host === "internal.example.test"
            ? [{ address: "10.1.2.3", family: 4 }]
            : host === "public.example.test"
              ? [
                  { address: "93.184.216.34", family: 4 },
                  { address: "2606:2800:220:1::1", family: 6 }
                ]
              : host === "mixed.example.test"
                ? [
                    { address: "93.184.216.34", family: 4 },
                    { address: "::1", family: 6 }
                  ]
                : host === "localhost"
                  ? Dns.promises
                      .lookup(host, { all: true })
                      .then((all) => all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })))
                  : Promise.reject(new Error("NXDOMAIN"))
      })
    )
  ).then((exit) => (Exit.isFailure(exit) ? Option.getOrThrow(Exit.findErrorOption(exit)).reason : undefined))

describe("the internal-address guard", () => {
  it("H2: loopback, private, link-local, metadata, CGNAT, multicast and unspecified addresses are refused", async () => {
    for (const url of [
      "http://127.0.0.1/hook",
      "http://127.9.9.9:8080/",
      "http://localhost/hook",
      "http://[::1]/",
      "http://10.0.0.5/",
      "http://172.16.3.4/",
      "http://192.168.1.1/",
      "http://169.254.169.254/latest/meta-data/",
      "http://100.100.100.200/",
      "http://[fd00:ec2::254]/",
      "http://[fe80::1]/",
      "http://224.0.0.1/",
      "http://0.0.0.0/",
      "http://[::]/",
      "http://[::ffff:127.0.0.1]/",
      "http://internal.example.test/",
      "http://mixed.example.test/"
    ]) {
      expect(await refused(url), url).toMatch(/^must point to a public address/)
    }
  })

  it("H2: public addresses pass; other schemes and unresolvable hosts are refused", async () => {
    expect(await refused("https://public.example.test/hook")).toBeUndefined()
    expect(await refused("https://93.184.216.34/hook")).toBeUndefined()
    expect(await refused("ftp://public.example.test/")).toBe("must be an http:// or https:// URL")
    expect(await refused("https://nowhere.example.test/")).toBe(
      "its host nowhere.example.test could not be resolved"
    )
  })

  it("H2: with private addresses allowed, internal hosts pass but the scheme is still checked", async () => {
    expect(await refused("http://127.0.0.1:9/hook", true)).toBeUndefined()
    expect(await refused("http://internal.example.test/", true)).toBeUndefined()
    expect(await refused("file:///etc/passwd", true)).toBe("must be an http:// or https:// URL")
  })

  it("H2: the refusal names the host, never more", async () => {
    const reason = await Effect.runPromise(
      Effect.flip(AddressGuard.resolveChecked("http://169.254.169.254/x", { allowPrivate: false }))
    )
    expect(reason.reason).toBe("must point to a public address; 169.254.169.254 is internal")
  })
})
