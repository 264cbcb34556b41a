/**
 * Validly signed tokens whose claims are hostile: subjects that are not storable text and
 * expiries that are not finite numbers. The signature holds, so only the claim checks stand
 * between such a token and the database.
 */
import { createHmac } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { JoseAuthenticator } from "@taskport/auth"
import { Cause, Effect, Redacted } from "effect"
import fc from "fast-check"

const SECRET = "a-shared-secret-of-forty-bytes-for-hs256"
const auth = JoseAuthenticator.make({ secret: Redacted.make(SECRET) })

/** Signs the payload text exactly as given, so that JSON no encoder would write can be sent. */
const signRaw = (payloadJson: string): string => {
  const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")
  const payload = Buffer.from(payloadJson, "utf8").toString("base64url")
  const signature = createHmac("sha256", SECRET).update(`${header}.${payload}`).digest("base64url")
  return `${header}.${payload}.${signature}`
}

const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const exp = () => Math.floor(Date.now() / 1000) + 900

describe("hostile claims in validly signed tokens", () => {
  it.effect("G3: a subject with a NUL or an unpaired surrogate is refused with 401's reason", () =>
    Effect.gen(function* () {
      const authenticator = yield* auth
      // Written as JSON escapes, as an attacker would; JSON.parse turns them into the raw code units.
      for (const escaped of ["ada\\u0000", "\\ud800", "\\udfff", "x\\udc00y"]) {
        const token = signRaw(`{"sub":"${escaped}","exp":${exp()}}`)
        const error = yield* Effect.flip(authenticator.authenticate(`Bearer ${token}`))
        expect(error.reason).toBe("invalid")
        expect(error.description).toContain("subject")
      }
      // The replacement character itself and a paired surrogate are ordinary text.
      for (const escaped of ["\\ufffd", "\\ud83d\\ude00"]) {
        const token = signRaw(`{"sub":"${escaped}","exp":${exp()}}`)
        expect(yield* authenticator.authenticate(`Bearer ${token}`)).toBe(JSON.parse(`"${escaped}"`))
      }
    })
  )

  it.effect("G4: an expiry that JSON reads as Infinity is refused, not taken as never", () =>
    Effect.gen(function* () {
      const authenticator = yield* auth
      for (const expiry of ["1e309", "-1e309"]) {
        const token = signRaw(`{"sub":"ada","exp":${expiry}}`)
        const error = yield* Effect.flip(authenticator.authenticate(`Bearer ${token}`))
        expect(["invalid", "expired"]).toContain(error.reason)
      }
      const finite = signRaw(`{"sub":"ada","exp":${exp()}}`)
      expect(yield* authenticator.authenticate(`Bearer ${finite}`)).toBe("ada")
    })
  )
})

describe("generated token subjects", () => {
  it.effect(
    "G3: any signed subject is refused or taken exactly; distinct accepted subjects stay distinct",
    () =>
      Effect.gen(function* () {
        const authenticator = yield* auth
        const subjects = fc.sample(
          fc.oneof(
            fc.string({ unit: "binary", maxLength: 20 }),
            fc.string({ unit: "grapheme", maxLength: 20 }),
            fc.constantFrom("\ud800", "\udfff", "\ufffd", "a\u0000", "", " ")
          ),
          { numRuns: 300, seed: 16 }
        )
        const owners = new Map<string, string>()
        for (const sub of subjects) {
          const token = signRaw(JSON.stringify({ sub, exp: exp() }))
          const exit = yield* Effect.exit(authenticator.authenticate(`Bearer ${token}`))
          if (exit._tag === "Success") {
            expect(exit.value).toBe(sub)
            expect(UNPAIRED.test(sub) || sub.includes("\u0000")).toBe(false)
            // One stored owner per subject: what the database is given is the subject itself.
            const encoded = Buffer.from(exit.value, "utf8").toString("hex")
            expect(owners.get(encoded) ?? sub).toBe(sub)
            owners.set(encoded, sub)
          } else {
            expect(Cause.findErrorOption(exit.cause)._tag).toBe("Some")
          }
        }
      })
  )
})
