/**
 * The authentication matrix: what the jose authenticator accepts and refuses, with tokens
 * shaped like Better Auth's and a key set served over real HTTP like its `/api/auth/jwks`.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { AuthConfigError, JoseAuthenticator } from "@taskport/auth"
import { Authenticator, type Unauthenticated } from "@taskport/core"
import { Effect, Redacted } from "effect"
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose"

const SECRET = Redacted.make("a-shared-secret-of-forty-bytes-for-hs256")
const OTHER_SECRET = Redacted.make("another-secret-that-is-long-enough-too!!")
const secretBytes = (secret: Redacted.Redacted<string>) => new TextEncoder().encode(Redacted.value(secret))

const nowSeconds = () => Math.floor(Date.now() / 1000)
const alphanumeric = (length: number) => {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
  return Array.from(
    crypto.getRandomValues(new Uint8Array(length)),
    (byte) => chars[byte % chars.length]
  ).join("")
}
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

const USER = alphanumeric(32)
const EMAIL = "ada.lovelace@example.com"

const sign = (claims: JWTPayload, key: CryptoKey | Uint8Array, header: { alg: string; kid?: string }) =>
  Effect.promise(() => new SignJWT(claims).setProtectedHeader(header).sign(key))

const hs256 = (claims: JWTPayload, secret = SECRET) =>
  sign({ exp: nowSeconds() + 900, ...claims }, secretBytes(secret), { alg: "HS256" })

interface SigningKey {
  readonly privateKey: CryptoKey
  readonly jwk: JWK
  readonly alg: string
  readonly kid: string
}

const signingKey = (alg: "EdDSA" | "ES256" | "RS256" | "PS256") =>
  Effect.promise(async (): Promise<SigningKey> => {
    const { privateKey, publicKey } = await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {})
    const kid = alphanumeric(32)
    return { privateKey, alg, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg } }
  })

/** Claims as Better Auth's JWT plugin issues them: identity fields, 15 minutes, iss = aud = base URL. */
const betterAuthClaims = (baseUrl: string): JWTPayload => {
  const iat = nowSeconds()
  return {
    iat,
    name: "Ada Lovelace",
    email: EMAIL,
    emailVerified: true,
    createdAt: "2026-11-01T10:00:00.000Z",
    updatedAt: "2026-11-01T10:00:00.000Z",
    id: USER,
    sub: USER,
    exp: iat + 900,
    iss: baseUrl,
    aud: baseUrl
  }
}

const signWith = (key: SigningKey, claims: JWTPayload) =>
  sign(claims, key.privateKey, { alg: key.alg, kid: key.kid })

interface JwksServer {
  readonly baseUrl: string
  readonly jwksUrl: URL
  readonly serve: (keys: ReadonlyArray<JWK>) => void
  readonly failWith: (status: number) => void
  readonly fetches: () => number
}

/** A key set endpoint at `/api/auth/jwks`, like Better Auth's: no Cache-Control, keys without `use`. */
const jwksServer = (initial: ReadonlyArray<JWK>) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ server: Server; handle: JwksServer }>((resolve) => {
          let keys = initial
          let status = 200
          let fetches = 0
          const server = createServer((request, response) => {
            if (request.url !== "/api/auth/jwks") {
              response.writeHead(404).end()
              return
            }
            fetches++
            response.writeHead(status, { "content-type": "application/json" })
            response.end(status === 200 ? JSON.stringify({ keys }) : "{}")
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo
            const baseUrl = `http://127.0.0.1:${port}`
            resolve({
              server,
              handle: {
                baseUrl,
                jwksUrl: new URL("/api/auth/jwks", baseUrl),
                serve: (next) => {
                  keys = next
                },
                failWith: (next) => {
                  status = next
                },
                fetches: () => fetches
              }
            })
          })
        })
    ),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
  ).pipe(Effect.map(({ handle }) => handle))

/** A port nothing listens on: bound once, then released. */
const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
)

const rejection = (authenticator: Authenticator["Service"], authorization: string | null | undefined) =>
  Effect.flip(authenticator.authenticate(authorization))

const expectRejected = (error: Unauthenticated, reason: Unauthenticated["reason"]) => {
  expect(error._tag).toBe("Unauthenticated")
  expect(error.reason).toBe(reason)
  expect(error.description.length).toBeGreaterThan(0)
}

/** Refused by jose's algorithm pinning, before any key is looked up or fetched. */
const expectAlgorithmRefused = (error: Unauthenticated) => {
  expectRejected(error, "invalid")
  expect(error.description).toBe("the token's signing algorithm is not accepted")
}

const secretOnly = JoseAuthenticator.make({ secret: SECRET })

describe("JoseAuthenticator", () => {
  it.effect("A1: a missing or empty Authorization header is refused as missing", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      for (const header of [undefined, null, "", "   "]) {
        expectRejected(yield* rejection(auth, header), "missing")
      }
    })
  )

  it.effect("A2: a token that is not a compact JWT is refused as malformed", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      const good = yield* hs256({ sub: USER })
      for (const header of [
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer a.b",
        "Bearer !!!.###.$$$",
        `Bearer ${good} extra`,
        `Bearer ${base64url({ typ: "JWT" })}.${base64url({ sub: USER })}.c2ln`,
        `Bearer bm90IGpzb24.${base64url({ sub: USER })}.c2ln`,
        `Bearer ${"a".repeat(20_000)}.b.c`
      ]) {
        expectRejected(yield* rejection(auth, header), "malformed")
      }
    })
  )

  it.effect("A3: another scheme (Basic) offers no bearer token and is refused", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      const token = yield* hs256({ sub: USER })
      const error = yield* rejection(auth, `Basic ${Buffer.from("ada:secret").toString("base64")}`)
      expectRejected(error, "missing")
      expect(error.description).toContain("Bearer")
      expectRejected(yield* rejection(auth, `Token ${token}`), "missing")
    })
  )

  it.effect("A4: the Bearer scheme is case-insensitive and surrounding spaces are ignored", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      const token = yield* hs256({ sub: USER })
      for (const header of [
        `Bearer ${token}`,
        `bearer ${token}`,
        `BEARER ${token}`,
        `  Bearer   ${token} `
      ]) {
        expect(yield* auth.authenticate(header)).toBe(USER)
      }
    })
  )

  it.effect("A5: an unsigned alg=none token is refused in every configuration", () =>
    Effect.gen(function* () {
      const unsigned = `${base64url({ alg: "none" })}.${base64url({ sub: USER, exp: nowSeconds() + 900 })}.`
      const withTyp = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: USER, exp: nowSeconds() + 900 })}.`
      const configurations = [
        { secret: SECRET },
        { jwksUrl: new URL("https://auth.invalid/api/auth/jwks") },
        { secret: SECRET, jwksUrl: new URL("https://auth.invalid/api/auth/jwks") }
      ]
      for (const options of configurations) {
        const auth = yield* JoseAuthenticator.make(options)
        for (const token of [unsigned, withTyp]) {
          expectAlgorithmRefused(yield* rejection(auth, `Bearer ${token}`))
        }
      }
    })
  )

  it.effect("A6: an HS256 token signed with another secret is refused as a bad signature", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      const forged = yield* hs256({ sub: USER }, OTHER_SECRET)
      expectRejected(yield* rejection(auth, `Bearer ${forged}`), "bad_signature")
    })
  )

  it.effect("A7: a payload changed after signing (another sub) is refused as a bad signature", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      const [header, payload, signature] = (yield* hs256({ sub: USER })).split(".")
      const claims: JWTPayload = JSON.parse(Buffer.from(payload!, "base64url").toString())
      const tampered = `${header}.${base64url({ ...claims, sub: "someone-else" })}.${signature}`
      expectRejected(yield* rejection(auth, `Bearer ${tampered}`), "bad_signature")
    })
  )

  it.effect("A8: a token expired beyond the 30 s tolerance is refused; 10 s expired is accepted", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      const longExpired = yield* hs256({ sub: USER, exp: nowSeconds() - 120 })
      expectRejected(yield* rejection(auth, `Bearer ${longExpired}`), "expired")
      const justExpired = yield* hs256({ sub: USER, exp: nowSeconds() - 10 })
      expect(yield* auth.authenticate(`Bearer ${justExpired}`)).toBe(USER)

      const strict = yield* JoseAuthenticator.make({ secret: SECRET, clockToleranceSeconds: 0 })
      expectRejected(yield* rejection(strict, `Bearer ${justExpired}`), "expired")
    })
  )

  it.effect("A9: a token without exp is refused", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      const eternal = yield* sign({ sub: USER }, secretBytes(SECRET), { alg: "HS256" })
      const error = yield* rejection(auth, `Bearer ${eternal}`)
      expectRejected(error, "invalid")
      expect(error.description).toContain("expiry")
    })
  )

  it.effect("A10: a token from another issuer, or with none, is refused when an issuer is configured", () =>
    Effect.gen(function* () {
      const auth = yield* JoseAuthenticator.make({ secret: SECRET, issuer: "https://auth.example.com" })
      const other = yield* hs256({ sub: USER, iss: "https://evil.example.com" })
      expectRejected(yield* rejection(auth, `Bearer ${other}`), "wrong_issuer")
      const none = yield* hs256({ sub: USER })
      expectRejected(yield* rejection(auth, `Bearer ${none}`), "wrong_issuer")
      const right = yield* hs256({ sub: USER, iss: "https://auth.example.com" })
      expect(yield* auth.authenticate(`Bearer ${right}`)).toBe(USER)
    })
  )

  it.effect("A11: a token for another audience is refused when an audience is configured", () =>
    Effect.gen(function* () {
      const auth = yield* JoseAuthenticator.make({ secret: SECRET, audience: "https://api.example.com" })
      const other = yield* hs256({ sub: USER, aud: "https://elsewhere.example.com" })
      expectRejected(yield* rejection(auth, `Bearer ${other}`), "wrong_audience")
      const listed = yield* hs256({
        sub: USER,
        aud: ["https://elsewhere.example.com", "https://api.example.com"]
      })
      expect(yield* auth.authenticate(`Bearer ${listed}`)).toBe(USER)
    })
  )

  it.live(
    "A12: an HS256 token is refused when only a key set is configured, even keyed with the public key",
    () =>
      Effect.gen(function* () {
        const key = yield* signingKey("EdDSA")
        const server = yield* jwksServer([key.jwk])
        const auth = yield* JoseAuthenticator.make({ jwksUrl: server.jwksUrl })
        const claims = { sub: USER, exp: nowSeconds() + 900 }
        // The classic confusion attack: HMAC keyed with the public key material the verifier holds.
        for (const material of [key.jwk.x!, JSON.stringify(key.jwk)]) {
          const confused = yield* sign(claims, new TextEncoder().encode(material), {
            alg: "HS256",
            kid: key.kid
          })
          expectAlgorithmRefused(yield* rejection(auth, `Bearer ${confused}`))
        }
      })
  )

  it.live("A13: a Better Auth EdDSA token is verified through the key set served at /api/auth/jwks", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      expect(key.jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", kid: key.kid })
      const server = yield* jwksServer([key.jwk])
      const auth = yield* JoseAuthenticator.make({
        jwksUrl: server.jwksUrl,
        issuer: server.baseUrl,
        audience: server.baseUrl
      })
      const token = yield* signWith(key, betterAuthClaims(server.baseUrl))
      expect(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString())).toEqual({
        alg: "EdDSA",
        kid: key.kid
      })
      expect(yield* auth.authenticate(`Bearer ${token}`)).toBe(USER)
      // The set is cached: a second token costs no fetch.
      expect(yield* auth.authenticate(`Bearer ${token}`)).toBe(USER)
      expect(server.fetches()).toBe(1)
    })
  )

  it.live("A14: ES256, RS256 and PS256 tokens from the key set are accepted", () =>
    Effect.gen(function* () {
      const keys = yield* Effect.all([signingKey("ES256"), signingKey("RS256"), signingKey("PS256")])
      const server = yield* jwksServer(keys.map((key) => key.jwk))
      const auth = yield* JoseAuthenticator.make({
        jwksUrl: server.jwksUrl,
        issuer: server.baseUrl,
        audience: server.baseUrl
      })
      for (const key of keys) {
        const token = yield* signWith(key, betterAuthClaims(server.baseUrl))
        expect(yield* auth.authenticate(`Bearer ${token}`)).toBe(USER)
      }
    })
  )

  it.live("A15: a token whose kid is not in the key set is refused as a bad signature", () =>
    Effect.gen(function* () {
      const published = yield* signingKey("EdDSA")
      const stranger = yield* signingKey("EdDSA")
      const server = yield* jwksServer([published.jwk])
      const auth = yield* JoseAuthenticator.make({ jwksUrl: server.jwksUrl, jwksCooldownMs: 0 })
      const token = yield* signWith(stranger, betterAuthClaims(server.baseUrl))
      expectRejected(yield* rejection(auth, `Bearer ${token}`), "bad_signature")
      // Same kid as a published key but another private key: the signature cannot match.
      const impostor = yield* sign(betterAuthClaims(server.baseUrl), stranger.privateKey, {
        alg: "EdDSA",
        kid: published.kid
      })
      expectRejected(yield* rejection(auth, `Bearer ${impostor}`), "bad_signature")
    })
  )

  it.live("A16: a rotated key is picked up once the cooldown has passed, and not before", () =>
    Effect.gen(function* () {
      const oldKey = yield* signingKey("EdDSA")
      const newKey = yield* signingKey("EdDSA")
      const server = yield* jwksServer([oldKey.jwk])
      const patient = yield* JoseAuthenticator.make({ jwksUrl: server.jwksUrl, jwksCooldownMs: 3_600_000 })
      const eager = yield* JoseAuthenticator.make({ jwksUrl: server.jwksUrl, jwksCooldownMs: 50 })
      const before = yield* signWith(oldKey, betterAuthClaims(server.baseUrl))
      expect(yield* patient.authenticate(`Bearer ${before}`)).toBe(USER)
      expect(yield* eager.authenticate(`Bearer ${before}`)).toBe(USER)

      server.serve([oldKey.jwk, newKey.jwk])
      yield* Effect.sleep("150 millis")
      const after = yield* signWith(newKey, betterAuthClaims(server.baseUrl))
      expect(yield* eager.authenticate(`Bearer ${after}`)).toBe(USER)
      expectRejected(yield* rejection(patient, `Bearer ${after}`), "bad_signature")
      expect(yield* eager.authenticate(`Bearer ${before}`)).toBe(USER)
    })
  )

  it.live("A17: with a secret and a key set configured, both kinds of token are accepted", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const server = yield* jwksServer([key.jwk])
      const auth = yield* JoseAuthenticator.make({ secret: SECRET, jwksUrl: server.jwksUrl })
      const fromKeySet = yield* signWith(key, betterAuthClaims(server.baseUrl))
      const fromSecret = yield* hs256({ sub: "dev-user" })
      expect(yield* auth.authenticate(`Bearer ${fromKeySet}`)).toBe(USER)
      expect(yield* auth.authenticate(`Bearer ${fromSecret}`)).toBe("dev-user")
      const forged = yield* hs256({ sub: USER }, OTHER_SECRET)
      expectRejected(yield* rejection(auth, `Bearer ${forged}`), "bad_signature")
    })
  )

  it.live("A18: an EdDSA token is refused when only a secret is configured", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const token = yield* signWith(key, betterAuthClaims("http://127.0.0.1"))
      expectAlgorithmRefused(yield* rejection(yield* secretOnly, `Bearer ${token}`))
    })
  )

  it.effect("A19: a secret shorter than 32 bytes is refused at construction, naming BETTER_AUTH_SECRET", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(JoseAuthenticator.make({ secret: Redacted.make("too-short-secret") }))
      expect(error).toBeInstanceOf(AuthConfigError)
      expect(error.variable).toBe("BETTER_AUTH_SECRET")
      expect(error.message).toContain("BETTER_AUTH_SECRET")
      expect(error.message).toContain("32 bytes")
      expect(error.message).not.toContain("too-short-secret")
      yield* JoseAuthenticator.make({ secret: Redacted.make("x".repeat(32)) })
    })
  )

  it.effect("A20: no secret and no key set is refused at construction", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(JoseAuthenticator.make({}))
      expect(error._tag).toBe("AuthConfigError")
      expect(error.message).toContain("BETTER_AUTH_JWKS_URL")
      expect(error.message).toContain("BETTER_AUTH_SECRET")
    })
  )

  it.effect("A21: a key set URL that is not http(s) and negative timings are refused at construction", () =>
    Effect.gen(function* () {
      const url = yield* Effect.flip(JoseAuthenticator.make({ jwksUrl: new URL("file:///etc/jwks.json") }))
      expect(url.variable).toBe("BETTER_AUTH_JWKS_URL")
      const cooldown = yield* Effect.flip(
        JoseAuthenticator.make({
          jwksUrl: new URL("https://auth.example.com/api/auth/jwks"),
          jwksCooldownMs: -1
        })
      )
      expect(cooldown.variable).toBe("jwksCooldownMs")
      const tolerance = yield* Effect.flip(
        JoseAuthenticator.make({ secret: SECRET, clockToleranceSeconds: Number.NaN })
      )
      expect(tolerance.variable).toBe("clockToleranceSeconds")
    })
  )

  it.live("A22: an unreachable or failing key set is reported as 'cannot verify the token right now'", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const server = yield* jwksServer([key.jwk])
      const token = yield* signWith(key, betterAuthClaims(server.baseUrl))

      server.failWith(500)
      const failing = yield* JoseAuthenticator.make({ jwksUrl: server.jwksUrl })
      const error = yield* rejection(failing, `Bearer ${token}`)
      expectRejected(error, "invalid")
      expect(error.description).toBe("cannot verify the token right now")

      const port = yield* closedPort
      const unreachable = yield* JoseAuthenticator.make({
        jwksUrl: new URL(`http://127.0.0.1:${port}/api/auth/jwks`)
      })
      const down = yield* rejection(unreachable, `Bearer ${token}`)
      expectRejected(down, "invalid")
      expect(down.description).toBe("cannot verify the token right now")

      // Recovery needs no restart: the next request fetches again.
      server.failWith(200)
      expect(yield* failing.authenticate(`Bearer ${token}`)).toBe(USER)
    })
  )

  it.effect("A23: the sub claim must be a non-empty string of at most 255 characters", () =>
    Effect.gen(function* () {
      const auth = yield* secretOnly
      expect(yield* auth.authenticate(`Bearer ${yield* hs256({ sub: "u".repeat(255) })}`)).toBe(
        "u".repeat(255)
      )
      for (const sub of ["", "u".repeat(256)]) {
        expectRejected(yield* rejection(auth, `Bearer ${yield* hs256({ sub })}`), "invalid")
      }
      const numeric = yield* sign(
        { sub: 42, exp: nowSeconds() + 900 } as unknown as JWTPayload,
        secretBytes(SECRET),
        {
          alg: "HS256"
        }
      )
      expectRejected(yield* rejection(auth, `Bearer ${numeric}`), "invalid")
      const error = yield* rejection(auth, `Bearer ${yield* hs256({})}`)
      expectRejected(error, "invalid")
      expect(error.description).toContain("subject")
    })
  )

  it.effect("A24: a key set can be fetched through an injected fetch, without a socket", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const requested: Array<string> = []
      const auth = yield* JoseAuthenticator.make({
        jwksUrl: new URL("https://auth.example.com/api/auth/jwks"),
        issuer: "https://auth.example.com",
        fetch: async (url) => {
          requested.push(url)
          return Response.json({ keys: [key.jwk] })
        }
      })
      const token = yield* signWith(key, betterAuthClaims("https://auth.example.com"))
      expect(yield* auth.authenticate(`Bearer ${token}`)).toBe(USER)
      expect(requested).toEqual(["https://auth.example.com/api/auth/jwks"])
    })
  )

  it.live("A25: no rejection's description or message contains the token or the user's email", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const stranger = yield* signingKey("EdDSA")
      const server = yield* jwksServer([key.jwk])
      const auth = yield* JoseAuthenticator.make({
        jwksUrl: server.jwksUrl,
        secret: SECRET,
        issuer: server.baseUrl,
        audience: server.baseUrl
      })
      const claims = betterAuthClaims(server.baseUrl)
      const tokens = [
        yield* signWith(key, { ...claims, exp: nowSeconds() - 3_600 }),
        yield* signWith(key, { ...claims, iss: `https://${EMAIL}` }),
        yield* signWith(key, { ...claims, aud: EMAIL }),
        yield* signWith(key, { ...claims, sub: EMAIL.repeat(11) }),
        yield* signWith(key, { ...claims, exp: EMAIL } as unknown as JWTPayload),
        yield* signWith(stranger, claims),
        yield* hs256({ ...claims }, OTHER_SECRET),
        `${base64url({ alg: "none" })}.${base64url(claims)}.`
      ]
      for (const token of tokens) {
        for (const header of [`Bearer ${token}`, `Bearer ${token} ${token}`, `Basic ${token}`]) {
          const error = yield* rejection(auth, header)
          for (const text of [error.description, error.message, JSON.stringify(error)]) {
            expect(text).not.toContain(token)
            expect(text).not.toContain(token.split(".")[1])
            expect(text).not.toContain(EMAIL)
            expect(text).not.toContain("Ada")
          }
        }
      }
    })
  )

  it.effect("A26: the layer provides the core Authenticator", () =>
    Effect.gen(function* () {
      const token = yield* hs256({ sub: USER })
      const user = yield* Authenticator.use((auth) => auth.authenticate(`Bearer ${token}`)).pipe(
        Effect.provide(JoseAuthenticator.layer({ secret: SECRET }))
      )
      expect(user).toBe(USER)
    })
  )
})

describe("JoseAuthenticator remembering verified tokens", () => {
  /** A key set that jose never caches, so each signature check fetches it again and can be counted. */
  const uncachedKeySet = (key: SigningKey, rememberVerifiedMs?: number) =>
    Effect.gen(function* () {
      let fetches = 0
      const auth = yield* JoseAuthenticator.make({
        jwksUrl: new URL("https://auth.example.com/api/auth/jwks"),
        jwksCacheMaxAgeMs: 0,
        ...(rememberVerifiedMs === undefined ? {} : { rememberVerifiedMs }),
        fetch: async () => {
          fetches++
          return Response.json({ keys: [key.jwk] })
        }
      })
      return { auth, fetches: () => fetches }
    })

  it.effect("A31: a verified token is checked once, then remembered; another token is checked anew", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const { auth, fetches } = yield* uncachedKeySet(key)
      const token = yield* signWith(key, { sub: USER, exp: nowSeconds() + 900 })
      for (let i = 0; i < 5; i++) expect(yield* auth.authenticate(`Bearer ${token}`)).toBe(USER)
      expect(fetches()).toBe(1)
      const other = yield* signWith(key, { sub: "someone-else", exp: nowSeconds() + 900 })
      expect(yield* auth.authenticate(`Bearer ${other}`)).toBe("someone-else")
      expect(fetches()).toBe(2)
      // Remembering never changes a decision: a token altered after its original was seen is refused.
      const [header, , signature] = token.split(".")
      const forged = `${header}.${base64url({ sub: "someone-else", exp: nowSeconds() + 900 })}.${signature}`
      expectRejected(yield* rejection(auth, `Bearer ${forged}`), "bad_signature")
    })
  )

  it.effect("A32: with remembering off, every request checks the signature", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const { auth, fetches } = yield* uncachedKeySet(key, 0)
      const token = yield* signWith(key, { sub: USER, exp: nowSeconds() + 900 })
      for (let i = 0; i < 3; i++) expect(yield* auth.authenticate(`Bearer ${token}`)).toBe(USER)
      expect(fetches()).toBe(3)
    })
  )

  it.live("A33: a remembered token is refused once it expires", () =>
    Effect.gen(function* () {
      const auth = yield* JoseAuthenticator.make({ secret: SECRET, clockToleranceSeconds: 0 })
      const token = yield* sign({ sub: USER, exp: nowSeconds() + 1 }, secretBytes(SECRET), { alg: "HS256" })
      expect(yield* auth.authenticate(`Bearer ${token}`)).toBe(USER)
      yield* Effect.sleep("1100 millis")
      expectRejected(yield* rejection(auth, `Bearer ${token}`), "expired")
    })
  )

  it.effect("A34: a negative remembering time is refused at construction", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(JoseAuthenticator.make({ secret: SECRET, rememberVerifiedMs: -1 }))
      expect(error).toBeInstanceOf(AuthConfigError)
    })
  )

  it.effect("A35: verify answers with the token's own expiry, first checked and then remembered", () =>
    Effect.gen(function* () {
      const key = yield* signingKey("EdDSA")
      const { auth, fetches } = yield* uncachedKeySet(key)
      const exp = nowSeconds() + 600
      const token = yield* signWith(key, { sub: USER, exp })
      expect(yield* auth.verify(`Bearer ${token}`)).toEqual({ user: USER, expiresAt: exp })
      expect(yield* auth.verify(`Bearer ${token}`)).toEqual({ user: USER, expiresAt: exp })
      expect(fetches()).toBe(1)
      const other = yield* signWith(key, { sub: "someone-else", exp: exp + 60 })
      expect(yield* auth.verify(`Bearer ${other}`)).toEqual({ user: "someone-else", expiresAt: exp + 60 })
      // The two checks are one: what authenticate refuses, verify refuses in the same words.
      const expired = yield* signWith(key, { sub: USER, exp: nowSeconds() - 120 })
      const refused = yield* Effect.flip(auth.verify(`Bearer ${expired}`))
      expect(refused.reason).toBe("expired")
      expect(refused).toEqual(yield* rejection(auth, `Bearer ${expired}`))
    })
  )
})
