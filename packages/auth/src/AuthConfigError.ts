/**
 * The one way authentication can be misconfigured at start-up. Its message names the setting
 * at fault so an operator can fix the deployment without reading code.
 */
import { Schema } from "effect"

export class AuthConfigError extends Schema.TaggedError<AuthConfigError>()("AuthConfigError", {
  /** The setting at fault, e.g. `BETTER_AUTH_SECRET` or `BETTER_AUTH_JWKS_URL`. */
  variable: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.variable}: ${this.detail}`
  }
}
