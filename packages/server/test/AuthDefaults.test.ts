/** The authentication settings the configuration derives from Better Auth's base URL. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as ServerConfig from "../src/ServerConfig.ts"

describe("configuration derived from BETTER_AUTH_URL", () => {
  it.effect("G7: issuer and audience default to Better Auth's base URL; explicit values win", () =>
    Effect.gen(function* () {
      const derived = yield* ServerConfig.read({ BETTER_AUTH_URL: "https://auth.example.com/" })
      expect(Option.getOrNull(derived.issuer)).toBe("https://auth.example.com")
      expect(Option.getOrNull(derived.audience)).toBe("https://auth.example.com")
      const explicit = yield* ServerConfig.read({
        BETTER_AUTH_URL: "https://auth.example.com",
        BETTER_AUTH_ISSUER: "https://issuer.example.com",
        BETTER_AUTH_AUDIENCE: "taskport"
      })
      expect(Option.getOrNull(explicit.issuer)).toBe("https://issuer.example.com")
      expect(Option.getOrNull(explicit.audience)).toBe("taskport")
      const none = yield* ServerConfig.read({})
      expect(Option.isNone(none.issuer) && Option.isNone(none.audience)).toBe(true)
    })
  )
})
