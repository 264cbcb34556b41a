/**
 * `taskport token <user> [--ttl 1h]`: prints a signed HS256 token for a user, with the dev
 * secret or BETTER_AUTH_SECRET. Tokens from a key set are issued by Better Auth itself.
 */
import { TokenMinter } from "@taskport/auth"
import { Data, Effect, Option } from "effect"
import * as Authentication from "../Authentication.ts"
import { UsageError } from "../Main.ts"
import type { ServerConfig } from "../ServerConfig.ts"

export class TokenNotMinted extends Data.TaggedError("TokenNotMinted")<{ readonly message: string }> {}

export const run = (config: ServerConfig, user: string | undefined, ttl: string) =>
  Effect.gen(function* () {
    if (user === undefined) {
      return yield* new UsageError({ message: "token needs a user id: taskport token <user> [--ttl 1h]" })
    }
    const secret = Option.getOrUndefined(Authentication.signingSecret(config))
    if (secret === undefined) {
      return yield* new UsageError({
        message: "token needs BETTER_AUTH_SECRET (tokens from a key set are issued by Better Auth itself)"
      })
    }
    const ttlSeconds = yield* Effect.try({
      try: () => TokenMinter.parseTtl(ttl),
      catch: (error) => new UsageError({ message: error instanceof Error ? error.message : "invalid --ttl" })
    })
    const token = yield* Effect.tryPromise({
      try: () =>
        TokenMinter.mintToken({
          secret,
          subject: user,
          ttlSeconds,
          issuer: Option.getOrUndefined(config.issuer),
          audience: Option.getOrUndefined(config.audience)
        }),
      catch: (error) =>
        new TokenNotMinted({ message: error instanceof Error ? error.message : "cannot mint the token" })
    })
    process.stdout.write(`${token}\n`)
    return 0
  })
