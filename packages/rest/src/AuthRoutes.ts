/**
 * `GET /api/v1/auth/me`: the verified identity behind the bearer token, so a client can show
 * who is signed in and until when. The token has been verified before the handler runs; its
 * claims are then only read, and only the standard profile ones are passed on.
 */
import type { UserId } from "@taskport/core"
import { Effect, Option, Schema } from "effect"
import { json } from "./Responses.ts"
import type { Route } from "./Route.ts"
import { PREFIX_V1 } from "./Routes.ts"

export const AUTH_ME_PATH = `${PREFIX_V1}/auth/me`

export const Identity = Schema.Struct({
  user_id: Schema.String.annotate({
    description: "The token's subject (sub): the user every call acts for."
  }),
  name: Schema.NullOr(Schema.String).annotate({ description: "The token's name claim, if any." }),
  email: Schema.NullOr(Schema.String).annotate({ description: "The token's email claim, if any." }),
  expires_at: Schema.NullOr(Schema.String).annotate({ description: "When the token expires (ISO 8601)." })
}).annotate({ identifier: "Identity", description: "The verified identity behind a bearer token." })

const Claims = Schema.Struct({
  name: Schema.optionalKey(Schema.Unknown),
  email: Schema.optionalKey(Schema.Unknown),
  exp: Schema.optionalKey(Schema.Unknown)
})
const decodeClaims = Schema.decodeUnknownOption(Schema.fromJsonString(Claims))

/** The payload of a (verified) compact JWT. */
const claimsOf = (authorization: string | null) => {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1] ?? ""
  const payload = token.split(".")[1] ?? ""
  return decodeClaims(Buffer.from(payload, "base64url").toString("utf8")).pipe(Option.getOrElse(() => ({})))
}

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null)

export const routes = (): ReadonlyArray<Route> => [
  {
    access: "user",
    method: "GET",
    path: AUTH_ME_PATH,
    handle: (event, _scope, user: UserId) => {
      const claims: { readonly name?: unknown; readonly email?: unknown; readonly exp?: unknown } = claimsOf(
        event.req.headers.get("authorization")
      )
      return Effect.succeed(
        json({
          user_id: user,
          name: text(claims.name),
          email: text(claims.email),
          expires_at: typeof claims.exp === "number" ? new Date(claims.exp * 1000).toISOString() : null
        })
      )
    }
  }
]
