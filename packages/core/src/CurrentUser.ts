/**
 * The caller's identity. It is set only by an adapter after verifying a bearer token and
 * travels in the Effect context; no operation takes a user id as a parameter.
 */
import { Context, Schema } from "effect"
import { isStorableText } from "./Task.ts"

// Storable text only: a NUL cannot be stored and lone surrogates would all be stored as the
// same replacement character, merging distinct subjects into one owner.
export const UserId = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(255), isStorableText)
  .pipe(Schema.brand("UserId"))
  .annotate({ description: "The user's id: the verified token's sub claim." })
export type UserId = typeof UserId.Type

export class CurrentUser extends Context.Service<CurrentUser, { readonly id: UserId }>()(
  "@taskport/core/CurrentUser"
) {}
