/**
 * The settings routes (`GET`, `PUT`, `PATCH /settings`) and the `X-Time-Zone` request header.
 * The header names the zone a request is computed in while the user has stored none; an
 * invalid zone is refused with a 400 naming the header rather than silently read as UTC.
 */
import {
  CurrentUser,
  type InvalidParameters,
  PatchSettingsParams,
  parseTimeZone,
  type ReplaceSettingsInput,
  ReplaceSettingsParams,
  type RepositoryError,
  RequestedTimeZone,
  SettingsService,
  type UserId,
  UserSettings
} from "@taskport/core"
import { Effect, Option, Schema } from "effect"
import type { H3Event } from "h3"
import { fromToolFailure, type HttpFailure, invalidRequest } from "./HttpFailure.ts"
import { readJsonObject } from "./JsonBody.ts"
import { json } from "./Responses.ts"
import type { Route } from "./Route.ts"
import { PREFIX_USER, PREFIX_V1, type RouteSpec } from "./Routes.ts"

export const TIME_ZONE_HEADER = "x-time-zone"

/** Request headers every user route reads; the OpenAPI document shows them. */
export const TimeZoneHeaders = Schema.Struct({
  "x-time-zone": Schema.optionalKey(
    Schema.String.annotate({
      description:
        "IANA time zone for this request (e.g. Europe/Paris); used only while the user has stored no time_zone."
    })
  )
})

/** Runs a user route's work with the zone its request named, if any. */
export const withRequestedZone = <A, R>(
  event: H3Event,
  work: Effect.Effect<A, HttpFailure, R>
): Effect.Effect<A, HttpFailure, R> => {
  const named = event.req.headers.get(TIME_ZONE_HEADER)
  if (named === null || named.trim() === "") return work
  const zone = parseTimeZone(named)
  if (Option.isNone(zone)) {
    const message = "must be an IANA time zone such as Europe/Paris"
    return Effect.fail(
      invalidRequest(`Invalid headers: ${TIME_ZONE_HEADER}: ${message}`, [
        { field: TIME_ZONE_HEADER, message }
      ])
    )
  }
  return Effect.provideService(work, RequestedTimeZone, zone)
}

export type SettingsRouteKind = "settings_read" | "settings_replace" | "settings_patch"

export const settingsRoutes: ReadonlyArray<RouteSpec<SettingsRouteKind>> = [
  {
    kind: "settings_read",
    method: "GET",
    path: "/settings",
    operationId: "settings_read",
    summary: "Read the user's settings (time zone, first day of the week)",
    status: 200,
    headers: TimeZoneHeaders,
    response: UserSettings
  },
  {
    kind: "settings_replace",
    method: "PUT",
    path: "/settings",
    operationId: "settings_replace",
    summary: "Replace the user's settings; settings left out take their defaults",
    status: 200,
    headers: TimeZoneHeaders,
    body: ReplaceSettingsParams,
    bodyRequired: true,
    response: UserSettings
  },
  {
    kind: "settings_patch",
    method: "PATCH",
    path: "/settings",
    operationId: "settings_patch",
    summary: "Change some of the user's settings; time_zone null clears the stored zone",
    status: 200,
    headers: TimeZoneHeaders,
    body: PatchSettingsParams,
    bodyRequired: true,
    response: UserSettings
  }
]

const encodeSettings = Schema.encodeSync(UserSettings)

const asHttp = (failure: InvalidParameters | RepositoryError): HttpFailure => fromToolFailure(failure)

const handler = (route: RouteSpec<SettingsRouteKind>, limit: number) => (event: H3Event, user: UserId) =>
  Effect.gen(function* () {
    const settings = yield* SettingsService
    const result =
      route.kind === "settings_read"
        ? yield* settings.get.pipe(Effect.mapError(asHttp))
        : yield* Effect.flatMap(readJsonObject(event.req, limit, true), (body) => {
            // The use cases decode their input themselves; the body is passed on as it came.
            const input = (body ?? {}) as ReplaceSettingsInput
            return (route.kind === "settings_replace" ? settings.replace(input) : settings.patch(input)).pipe(
              Effect.mapError(asHttp)
            )
          })
    return json(encodeSettings(result))
  }).pipe(Effect.provideService(CurrentUser, { id: user }))

/** The settings routes, under both prefixes. */
export const routes = (limit: number): ReadonlyArray<Route> =>
  settingsRoutes.flatMap((route) =>
    [PREFIX_V1, PREFIX_USER].map((prefix): Route => {
      const handle = handler(route, limit)
      return {
        access: "user",
        method: route.method,
        path: `${prefix}${route.path}`,
        handle: (event, _scope, user) => handle(event, user)
      }
    })
  )
