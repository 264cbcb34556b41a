/**
 * How tokens are verified and, for development, minted: with Better Auth's settings, or in
 * dev mode (no auth configuration at all) with a local secret kept in the data directory.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type AuthConfigError, JoseAuthenticator } from "@taskport/auth"
import type { Authenticator } from "@taskport/core"
import { type Layer, Option, Redacted } from "effect"
import type { ServerConfig } from "./ServerConfig.ts"

export const DEV_SECRET_FILE = "dev-secret"

/** Dev mode: no Better Auth configuration at all. */
export const isDevMode = (config: ServerConfig) =>
  Option.isNone(config.authSecret) && Option.isNone(config.jwksUrl)

/** The dev secret kept in the data directory, created on first use (readable by the owner only). */
export const devSecret = (dataDir: string): Redacted.Redacted<string> => {
  const file = Path.join(dataDir, DEV_SECRET_FILE)
  if (!Fs.existsSync(file)) {
    Fs.mkdirSync(dataDir, { recursive: true })
    Fs.writeFileSync(file, Crypto.randomBytes(48).toString("base64url"), { mode: 0o600, flag: "wx" })
  }
  return Redacted.make(Fs.readFileSync(file, "utf8").trim())
}

/** The secret tokens are minted and verified with: configured, or the dev secret. */
export const signingSecret = (config: ServerConfig): Option.Option<Redacted.Redacted<string>> =>
  isDevMode(config)
    ? Option.some(devSecret(config.dataDir))
    : Option.map(config.authSecret, (secret) => Redacted.make(Redacted.value(secret) as string))

export const layer = (config: ServerConfig): Layer.Layer<Authenticator, AuthConfigError> =>
  JoseAuthenticator.layer({
    secret: Option.getOrUndefined(signingSecret(config)),
    jwksUrl: Option.getOrUndefined(config.jwksUrl),
    issuer: Option.getOrUndefined(config.issuer),
    audience: Option.getOrUndefined(config.audience)
  })
