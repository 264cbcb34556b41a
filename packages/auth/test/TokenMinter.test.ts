/**
 * Dev tokens: what `taskport token` mints must pass the same verification as any other token,
 * and its lifetime syntax must fail loudly rather than mint something unexpected.
 */
import { describe, expect, it } from "@effect/vitest"
import { AuthConfigError, JoseAuthenticator, TokenMinter } from "@taskport/auth"
import { Effect, Redacted } from "effect"
import { decodeJwt, decodeProtectedHeader } from "jose"

const SECRET = Redacted.make("a-shared-secret-of-forty-bytes-for-hs256")

describe("TokenMinter", () => {
  it.effect("A27: a minted token verifies through the authenticator, issuer and audience included", () =>
    Effect.gen(function* () {
      const token = yield* Effect.promise(() =>
        TokenMinter.mintToken({
          secret: SECRET,
          subject: "dev-user",
          ttlSeconds: 3_600,
          issuer: "https://auth.example.com",
          audience: "taskport"
        })
      )
      expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" })
      const claims = decodeJwt(token)
      expect(claims.exp! - claims.iat!).toBe(3_600)
      const auth = yield* JoseAuthenticator.make({
        secret: SECRET,
        issuer: "https://auth.example.com",
        audience: "taskport"
      })
      expect(yield* auth.authenticate(`Bearer ${token}`)).toBe("dev-user")
      const elsewhere = yield* JoseAuthenticator.make({ secret: SECRET, audience: "another-api" })
      expect((yield* Effect.flip(elsewhere.authenticate(`Bearer ${token}`))).reason).toBe("wrong_audience")
    })
  )

  it.effect("A28: minting refuses a short secret, an invalid subject and a non-positive lifetime", () =>
    Effect.gen(function* () {
      const mint = (options: Partial<TokenMinter.MintOptions>) =>
        Effect.flip(
          Effect.tryPromise({
            try: () =>
              TokenMinter.mintToken({ secret: SECRET, subject: "dev-user", ttlSeconds: 60, ...options }),
            catch: (error) => error
          })
        )
      const short = yield* mint({ secret: Redacted.make("short") })
      expect(short).toBeInstanceOf(AuthConfigError)
      expect(String(short)).toContain("BETTER_AUTH_SECRET")
      for (const options of [
        { subject: "" },
        { subject: "u".repeat(256) },
        { ttlSeconds: 0 },
        { ttlSeconds: 1.5 }
      ]) {
        expect(yield* mint(options)).toBeInstanceOf(RangeError)
      }
    })
  )

  it("A29: parseTtl reads seconds, minutes, hours and days", () => {
    expect(TokenMinter.parseTtl("30s")).toBe(30)
    expect(TokenMinter.parseTtl("15m")).toBe(900)
    expect(TokenMinter.parseTtl("1h")).toBe(3_600)
    expect(TokenMinter.parseTtl("2d")).toBe(172_800)
    expect(TokenMinter.parseTtl(" 90m ")).toBe(5_400)
  })

  it("A30: parseTtl refuses anything else with a message showing the expected form", () => {
    for (const input of [
      "",
      "1",
      "h",
      "0m",
      "-5m",
      "1.5h",
      "1w",
      "1H",
      "1 h",
      "1h30m",
      `${"9".repeat(20)}d`
    ]) {
      expect(() => TokenMinter.parseTtl(input)).toThrow(
        /use a positive whole number followed by s, m, h or d/
      )
    }
  })
})
