/**
 * The `Authenticator` port over jose. It verifies bearer JWTs signed either with an HS256
 * shared secret (tokens minted by the `taskport token` command or another backend) or with a
 * key from a JSON Web Key Set, as Better Auth's JWT plugin serves at `<base>/api/auth/jwks`.
 *
 * Every failure becomes `Unauthenticated` with a short description that is safe to show a
 * client: Better Auth tokens carry the user's name and email, so neither the token nor its
 * claims ever appear in an error or a log line.
 */
import { hash } from "node:crypto"
import { Authenticator, traced, Unauthenticated, UserId, type VerifiedToken } from "@taskport/core"
import { Effect, Layer, Option, type Redacted, Schema } from "effect"
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type FetchImplementation,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify
} from "jose"
import { AuthConfigError } from "./AuthConfigError.ts"
import { secretKey } from "./SharedSecret.ts"

/** The only algorithm accepted with the shared secret. */
export const SECRET_ALGORITHMS: ReadonlyArray<string> = ["HS256"]

/**
 * Algorithms accepted from the key set: those Better Auth's JWT plugin can sign with, plus
 * `Ed25519`, the newer name for EdDSA over Ed25519. Symmetric algorithms are absent on purpose,
 * so a public key can never be used as an HMAC secret.
 */
export const KEY_SET_ALGORITHMS: ReadonlyArray<string> = [
  "EdDSA",
  "Ed25519",
  "ES256",
  "ES512",
  "RS256",
  "PS256"
]

export interface Options {
  /** HS256 shared secret (`BETTER_AUTH_SECRET`), at least 32 bytes. */
  readonly secret?: Redacted.Redacted<string> | undefined
  /** Key set URL (`BETTER_AUTH_JWKS_URL`), e.g. `https://auth.example.com/api/auth/jwks`. */
  readonly jwksUrl?: URL | undefined
  /** Required `iss` claim; Better Auth uses its base URL. */
  readonly issuer?: string | undefined
  /** Required `aud` claim; Better Auth uses its base URL unless configured otherwise. */
  readonly audience?: string | undefined
  /** Leeway for `exp` and `nbf` against clock drift between issuer and verifier (default 30). */
  readonly clockToleranceSeconds?: number | undefined
  /**
   * Minimum time between key set fetches triggered by an unknown `kid` (default 30 000).
   * Better Auth publishes a rotated key only when it first signs with it, so a token with an
   * unknown `kid` is rejected until this much time has passed since the last fetch.
   */
  readonly jwksCooldownMs?: number | undefined
  /** How long a fetched key set is trusted before it is fetched again (default 600 000). */
  readonly jwksCacheMaxAgeMs?: number | undefined
  /** Abort a key set fetch after this long (default 5 000). */
  readonly jwksTimeoutMs?: number | undefined
  /** Replaces the global `fetch` for key set requests (a proxy, an in-process server). */
  readonly fetch?: FetchImplementation | undefined
  /**
   * How long a verified token is remembered, so that its signature is not checked again on
   * every request (default 60 000; 0 turns it off). Never past the token's `exp`.
   */
  readonly rememberVerifiedMs?: number | undefined
}

type Reason = Unauthenticated["reason"]

const unauthenticated = (reason: Reason, description: string): Unauthenticated =>
  new Unauthenticated({ reason, description })

const UNAVAILABLE = "cannot verify the token right now"

/** Verified tokens remembered at most at once; the oldest is forgotten first. */
const REMEMBERED_MAX = 10_000

/** Longer than any sane JWT; refusing early keeps hostile headers from costing a decode. */
const MAX_TOKEN_LENGTH = 16_384

/** Three base64url segments; the signature may be empty so that `alg: none` reaches the pinning check. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

const bearerToken = (authorization: string | null | undefined): Effect.Effect<string, Unauthenticated> => {
  const value = authorization?.trim() ?? ""
  if (value === "")
    return Effect.fail(unauthenticated("missing", "an Authorization: Bearer token is required"))
  const parts = value.split(/\s+/)
  // Another scheme means no bearer credentials were offered (RFC 6750 §3.1), not a broken token.
  if (parts[0]!.toLowerCase() !== "bearer") {
    return Effect.fail(unauthenticated("missing", "the Authorization header must use the Bearer scheme"))
  }
  if (parts.length !== 2) {
    return Effect.fail(unauthenticated("malformed", "expected exactly one token after Bearer"))
  }
  const token = parts[1]!
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
    return Effect.fail(unauthenticated("malformed", "the bearer token is not a JWT"))
  }
  return Effect.succeed(token)
}

const headerAlgorithm = (token: string): Effect.Effect<string, Unauthenticated> =>
  Effect.try({
    try: () => decodeProtectedHeader(token).alg,
    catch: () => unauthenticated("malformed", "the bearer token is not a JWT")
  }).pipe(
    Effect.flatMap((alg) =>
      typeof alg === "string"
        ? Effect.succeed(alg)
        : Effect.fail(unauthenticated("malformed", "the token header has no algorithm"))
    )
  )

interface Classified {
  readonly error: Unauthenticated
  /** The failure is ours (key set unreachable or unusable), not the client's. */
  readonly unavailable: boolean
}

const claimFailure = (claim: string, reason: string): Unauthenticated => {
  switch (claim) {
    case "iss":
      return unauthenticated("wrong_issuer", "the token was issued by an untrusted issuer")
    case "aud":
      return unauthenticated("wrong_audience", "the token is meant for another audience")
    case "exp":
      return unauthenticated(
        "invalid",
        reason === "missing" ? "the token has no expiry" : "the token's expiry is invalid"
      )
    case "sub":
      return unauthenticated("invalid", "the token has no subject")
    case "nbf":
      return unauthenticated("invalid", "the token is not valid yet")
    default:
      return unauthenticated("invalid", "the token's claims are invalid")
  }
}

const classify = (error: unknown): Classified => {
  const client = (failure: Unauthenticated): Classified => ({ error: failure, unavailable: false })
  if (error instanceof errors.JWTExpired) return client(unauthenticated("expired", "the token has expired"))
  if (error instanceof errors.JWTClaimValidationFailed) return client(claimFailure(error.claim, error.reason))
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return client(unauthenticated("bad_signature", "the token's signature is not valid"))
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return client(unauthenticated("bad_signature", "the token was signed with an unknown key"))
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return client(unauthenticated("invalid", "the token's signing algorithm is not accepted"))
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return client(unauthenticated("malformed", "the bearer token is not a valid JWT"))
  }
  // What remains is the key set failing us: unreachable, timed out, not JSON, unusable keys.
  return { error: unauthenticated("invalid", UNAVAILABLE), unavailable: true }
}

const networkCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? ` (${cause.code})`
    : ""

/** What an operator needs to see; other errors' messages may quote their input, so only names. */
const describeCause = (error: unknown): string => {
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`
  if (error instanceof TypeError) return `${error.name}: ${error.message}${networkCode(error.cause)}`
  return error instanceof Error ? error.name : "unknown failure"
}

interface Verifier {
  readonly key: CryptoKey | JWTVerifyGetKey
  readonly algorithms: ReadonlyArray<string>
}

const checkDuration = (
  variable: string,
  value: number | undefined,
  fallback: number,
  allowInfinity: boolean
): Effect.Effect<number, AuthConfigError> => {
  const duration = value ?? fallback
  const valid = duration >= 0 && (Number.isFinite(duration) || (allowInfinity && duration === Infinity))
  return valid
    ? Effect.succeed(duration)
    : Effect.fail(new AuthConfigError({ variable, detail: `must be a non-negative number, got ${duration}` }))
}

const keySetVerifier = (url: URL, options: Options): Effect.Effect<Verifier, AuthConfigError> =>
  Effect.gen(function* () {
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return yield* new AuthConfigError({
        variable: "BETTER_AUTH_JWKS_URL",
        detail: `must be an http(s) URL such as https://auth.example.com/api/auth/jwks, got ${url.protocol}`
      })
    }
    const cooldownDuration = yield* checkDuration("jwksCooldownMs", options.jwksCooldownMs, 30_000, false)
    const cacheMaxAge = yield* checkDuration("jwksCacheMaxAgeMs", options.jwksCacheMaxAgeMs, 600_000, true)
    const timeoutDuration = yield* checkDuration("jwksTimeoutMs", options.jwksTimeoutMs, 5_000, false)
    const keySet = createRemoteJWKSet(url, {
      cooldownDuration,
      cacheMaxAge,
      timeoutDuration: Math.round(timeoutDuration),
      ...(options.fetch === undefined ? {} : { [customFetch]: options.fetch })
    })
    return { key: keySet, algorithms: KEY_SET_ALGORITHMS }
  })

/** Builds the authenticator, refusing a configuration that could not verify anything safely. */
export const make = (options: Options): Effect.Effect<Authenticator["Service"], AuthConfigError> =>
  Effect.gen(function* () {
    if (options.secret === undefined && options.jwksUrl === undefined) {
      return yield* new AuthConfigError({
        variable: "BETTER_AUTH_JWKS_URL or BETTER_AUTH_SECRET",
        detail:
          "neither is set; point BETTER_AUTH_JWKS_URL at Better Auth's <base>/api/auth/jwks, or set BETTER_AUTH_SECRET to an HS256 secret of at least 32 bytes"
      })
    }
    let secret: Verifier | undefined
    if (options.secret !== undefined) {
      const bytes = secretKey(options.secret)
      if (bytes instanceof AuthConfigError) return yield* bytes
      // Imported once: given raw bytes, jose imports the key again on every verification,
      // which costs more than the signature check itself when requests arrive concurrently.
      const key = yield* Effect.promise(() =>
        crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"])
      )
      secret = { key, algorithms: SECRET_ALGORITHMS }
    }
    const keySet = options.jwksUrl === undefined ? undefined : yield* keySetVerifier(options.jwksUrl, options)
    const clockTolerance = yield* checkDuration(
      "clockToleranceSeconds",
      options.clockToleranceSeconds,
      30,
      false
    )

    const claimOptions: JWTVerifyOptions = {
      clockTolerance,
      requiredClaims: ["exp", "sub"],
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      ...(options.audience === undefined ? {} : { audience: options.audience })
    }

    // The header picks the verifier; each verifier pins its own algorithms, so a mismatch (HS256
    // with only a key set, `none`, anything unknown) is still refused by jose rather than by this
    // routing alone.
    const verifierFor = (alg: string): Verifier =>
      alg === "HS256" ? (secret ?? keySet!) : (keySet ?? secret!)

    const verifyJwt = (token: string, verifier: Verifier) =>
      Effect.tryPromise({
        try: () => jwtVerify(token, verifier.key, { ...claimOptions, algorithms: [...verifier.algorithms] }),
        catch: (error) => error
      }).pipe(
        Effect.catch((error) => {
          const classified = classify(error)
          return classified.unavailable
            ? Effect.logWarning("bearer token verification is unavailable", describeCause(error)).pipe(
                Effect.andThen(Effect.fail(classified.error))
              )
            : Effect.fail(classified.error)
        })
      )

    // Checking a signature costs more than the rest of a small request (WebCrypto runs each
    // check as an asynchronous job), and clients send the same token many times. A token that
    // passed every check is remembered by its SHA-256, so the table holds no usable credential,
    // until its expiry or for `remember` milliseconds, whichever comes first. Only verified
    // tokens enter, so junk cannot grow it, and it is bounded. A key withdrawn from the key set
    // is already trusted for the set's cache age, longer than this.
    const remember = yield* checkDuration("rememberVerifiedMs", options.rememberVerifiedMs, 60_000, false)
    const remembered = new Map<string, { readonly verified: VerifiedToken; readonly until: number }>()
    // One call without a Hash object: this runs on every authenticated request.
    const fingerprint = (token: string) => hash("sha256", token, "base64url")

    const recall = (key: string): VerifiedToken | undefined => {
      const entry = remembered.get(key)
      if (entry === undefined) return undefined
      if (Date.now() < entry.until) return entry.verified
      remembered.delete(key)
      return undefined
    }

    const keep = (key: string, verified: VerifiedToken) => {
      const until = Math.min(verified.expiresAt * 1000, Date.now() + remember)
      if (until <= Date.now()) return
      if (remembered.size >= REMEMBERED_MAX) {
        const oldest = remembered.keys().next()
        if (!oldest.done) remembered.delete(oldest.value)
      }
      remembered.set(key, { verified, until })
    }

    const verify = (
      authorization: string | null | undefined
    ): Effect.Effect<VerifiedToken, Unauthenticated> =>
      Effect.gen(function* () {
        const token = yield* bearerToken(authorization)
        const key = remember > 0 ? fingerprint(token) : undefined
        const known = key === undefined ? undefined : recall(key)
        if (known !== undefined) return known
        const alg = yield* headerAlgorithm(token)
        const { payload } = yield* verifyJwt(token, verifierFor(alg))
        // JSON reads 1e309 as Infinity, which jose accepts as a number: a token that never expires.
        if (typeof payload.exp !== "number" || !Number.isFinite(payload.exp)) {
          return yield* unauthenticated("invalid", "the token's expiry is invalid")
        }
        const subject = Schema.decodeUnknownOption(UserId)(payload.sub)
        if (Option.isNone(subject)) {
          return yield* unauthenticated("invalid", "the token's subject is not a valid user id")
        }
        const verified: VerifiedToken = { user: subject.value, expiresAt: payload.exp }
        if (key !== undefined) keep(key, verified)
        return verified
      })

    const authenticate = (authorization: string | null | undefined): Effect.Effect<UserId, Unauthenticated> =>
      Effect.map(verify(authorization), (verified) => verified.user)

    return Authenticator.of(traced(Authenticator, "JoseAuthenticator", { authenticate, verify }))
  })

/** `Authenticator` over jose, configured once when the layer is built. */
export const layer = (options: Options): Layer.Layer<Authenticator, AuthConfigError> =>
  Layer.effect(Authenticator, make(options))
