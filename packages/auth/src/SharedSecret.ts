/**
 * HS256 shared secrets, checked the same way for verifying and for minting so that a short
 * secret is refused on both sides.
 */
import { Redacted } from "effect"
import { AuthConfigError } from "./AuthConfigError.ts"

/** HS256 keys shorter than the hash output (RFC 7518 §3.2) make forging by brute force feasible. */
export const MIN_SECRET_BYTES = 32

/** The secret's bytes, or the reason it cannot be used. */
export const secretKey = (secret: Redacted.Redacted<string>): Uint8Array<ArrayBuffer> | AuthConfigError => {
  const key = new TextEncoder().encode(Redacted.value(secret))
  return key.byteLength >= MIN_SECRET_BYTES
    ? key
    : new AuthConfigError({
        variable: "BETTER_AUTH_SECRET",
        detail: `the HS256 secret must be at least ${MIN_SECRET_BYTES} bytes long but has ${key.byteLength}; generate one with \`openssl rand -base64 32\``
      })
}
