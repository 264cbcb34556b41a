/**
 * The caller's identity. It is set only by an adapter after verifying a bearer token and
 * travels in the Effect context; no operation takes a user id as a parameter.
 */
import { Context, Schema } from "effect"

export const UserId = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(255))
  .pipe(Schema.brand("UserId"))
  .annotate({ description: "The user's id: the verified token's sub claim." })
export type UserId = typeof UserId.Type

export class CurrentUser extends Context.Service<CurrentUser, { readonly id: UserId }>()(
  "@taskport/core/CurrentUser"
) {}
