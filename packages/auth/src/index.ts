/**
 * @taskport/auth: the `Authenticator` port over jose, verifying bearer JWTs from an HS256
 * shared secret or from a JSON Web Key Set such as Better Auth's, and a minter for dev tokens.
 */
export { AuthConfigError } from "./AuthConfigError.ts"
export * as JoseAuthenticator from "./JoseAuthenticator.ts"
export * as TokenMinter from "./TokenMinter.ts"
