/**
 * Mints HS256 tokens with the shared secret, for the `taskport token` development command and
 * for tests: a quick way to act as a user without running an identity provider.
 */
import { UserId } from "@taskport/core"
import { type Redacted, Schema } from "effect"
import { SignJWT } from "jose"
import { AuthConfigError } from "./AuthConfigError.ts"
import { secretKey } from "./SharedSecret.ts"

export interface MintOptions {
  /** The same secret the server verifies with (`BETTER_AUTH_SECRET`), at least 32 bytes. */
  readonly secret: Redacted.Redacted<string>
  /** The user id the token stands for (its `sub`). */
  readonly subject: string
  /** Lifetime in seconds; see `parseTtl` for "15m"-style input. */
  readonly ttlSeconds: number
  readonly issuer?: string | undefined
  readonly audience?: string | undefined
}

/**
 * Signs a token the authenticator accepts in shared-secret mode. Rejects with `AuthConfigError`
 * for a short secret and with `RangeError` for a subject or lifetime it would refuse anyway.
 */
export const mintToken = async (options: MintOptions): Promise<string> => {
  const key = secretKey(options.secret)
  if (key instanceof AuthConfigError) throw key
  if (!Schema.is(UserId)(options.subject)) {
    throw new RangeError("the subject must be a non-empty user id of at most 255 characters")
  }
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new RangeError(`the lifetime must be a positive whole number of seconds, got ${options.ttlSeconds}`)
  }
  const now = Math.floor(Date.now() / 1000)
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.subject)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds)
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer)
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience)
  return jwt.sign(key)
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 }

/** Reads a lifetime such as "30s", "15m", "1h" or "2d" as seconds; throws `RangeError` otherwise. */
export const parseTtl = (input: string): number => {
  const match = /^(\d+)([smhd])$/.exec(input.trim())
  const seconds = match === null ? Number.NaN : Number(match[1]) * UNIT_SECONDS[match[2]!]!
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new RangeError(
      `invalid lifetime "${input}": use a positive whole number followed by s, m, h or d, e.g. 30s, 15m, 1h, 2d`
    )
  }
  return seconds
}
