/**
 * A user's settings (their IANA time zone and first day of the week), the port that stores
 * them, and the use cases that read and change them. The effective zone of a request is
 * resolved here once, for every surface: the stored setting, else the zone the request named
 * (`RequestedTimeZone`), else UTC.
 */
import { Context, DateTime, Effect, Layer, Option, Schema, SchemaTransformation } from "effect"
import { CurrentUser, type UserId } from "./CurrentUser.ts"
import type { InvalidParameters, RepositoryError } from "./Errors.ts"
import { inputDecoder } from "./SchemaIssues.ts"
import { omittable } from "./Task.ts"

const zoneOf = (name: string): Option.Option<DateTime.TimeZone.Named> =>
  name.length > 64 ? Option.none() : DateTime.zoneMakeNamed(spelling(name))

// The runtime's zone list gives each name its usual spelling. The runtime's own canonical form
// is not used: it can be an outdated alias (Asia/Calcutta for Asia/Kolkata).
let spellings: ReadonlyMap<string, string> | undefined
const spelling = (name: string): string => {
  spellings ??= new Map(
    [...Intl.supportedValuesOf("timeZone"), "UTC"].map((zone): [string, string] => [zone.toLowerCase(), zone])
  )
  return spellings.get(name.toLowerCase()) ?? name
}

/** An IANA zone name, decoded to its usual spelling (`europe/paris` becomes `Europe/Paris`). */
export const TimeZoneName = Schema.String.annotate({
  description: "An IANA time zone such as Europe/Paris, America/Los_Angeles or UTC."
})
  .pipe(
    Schema.decode(
      SchemaTransformation.transform({
        decode: (s: string) => (Option.isSome(zoneOf(s)) ? spelling(s) : s),
        encode: (s: string) => s
      })
    )
  )
  .check(
    Schema.makeFilter((s: string) => Option.isSome(zoneOf(s)), {
      message: "must be an IANA time zone such as Europe/Paris"
    })
  )

export const WeekStart = Schema.Literals(["monday", "sunday", "saturday"]).annotate({
  description: "The first day of the user's week: monday (the default), sunday or saturday."
})
export type WeekStart = typeof WeekStart.Type

export const DEFAULT_TIME_ZONE = "UTC"

export const UserSettings = Schema.Struct({
  time_zone: Schema.NullOr(TimeZoneName).annotate({
    description:
      "The user's stored time zone, or null until set. It decides what today, overdue and a date-only due mean."
  }),
  week_start: WeekStart,
  effective_time_zone: TimeZoneName.annotate({
    description:
      "The zone this request is computed in: the stored time_zone, else the zone the request named (X-Time-Zone), else UTC."
  })
}).annotate({ identifier: "UserSettings", description: "The calling user's settings." })
export type UserSettings = typeof UserSettings.Type

/** PUT: every setting; left out, a setting takes its default (time_zone null, week_start monday). */
export const ReplaceSettingsParams = Schema.Struct({
  time_zone: Schema.optionalKey(Schema.NullOr(TimeZoneName)),
  week_start: omittable(WeekStart)
}).annotate({ identifier: "ReplaceSettings" })
export type ReplaceSettingsInput = typeof ReplaceSettingsParams.Encoded

/** PATCH: only the settings given change; time_zone null clears the stored zone. */
export const PatchSettingsParams = Schema.Struct({
  time_zone: Schema.optionalKey(Schema.NullOr(TimeZoneName)),
  week_start: omittable(WeekStart)
}).annotate({ identifier: "PatchSettings" })
export type PatchSettingsInput = typeof PatchSettingsParams.Encoded

/** What the store keeps for a user. */
export interface StoredSettings {
  readonly timeZone: string | null
  readonly weekStart: WeekStart
}

/** Port for storing settings; every method is scoped to its owner. */
export class SettingsRepository extends Context.Service<
  SettingsRepository,
  {
    readonly get: (owner: UserId) => Effect.Effect<Option.Option<StoredSettings>, RepositoryError>
    readonly put: (owner: UserId, settings: StoredSettings) => Effect.Effect<StoredSettings, RepositoryError>
  }
>()("@taskport/core/SettingsRepository") {}

/**
 * The zone a request named (a header, a parameter), already validated by the surface. It
 * applies only while the user has stored no zone: a stored setting is the user's deliberate
 * choice and must give the same "today" on every device and surface.
 */
export const RequestedTimeZone = Context.Reference<Option.Option<string>>(
  "@taskport/core/RequestedTimeZone",
  { defaultValue: () => Option.none() }
)

/** Validates a zone a request names, in its usual spelling; none when it is not an IANA zone. */
export const parseTimeZone = (name: string): Option.Option<string> => {
  const trimmed = name.trim()
  return Option.isSome(zoneOf(trimmed)) ? Option.some(spelling(trimmed)) : Option.none()
}

const DEFAULTS: StoredSettings = { timeZone: null, weekStart: "monday" }

const decoder = inputDecoder
const decodeReplace = decoder(ReplaceSettingsParams)
const decodePatch = decoder(PatchSettingsParams)

export interface SettingsServiceShape {
  readonly get: Effect.Effect<UserSettings, RepositoryError, CurrentUser>
  readonly replace: (
    input: ReplaceSettingsInput
  ) => Effect.Effect<UserSettings, InvalidParameters | RepositoryError, CurrentUser>
  readonly patch: (
    input: PatchSettingsInput
  ) => Effect.Effect<UserSettings, InvalidParameters | RepositoryError, CurrentUser>
  /** The zone the current request is computed in, with the user's week start. */
  readonly effective: Effect.Effect<
    { readonly zone: DateTime.TimeZone.Named; readonly name: string; readonly weekStart: WeekStart },
    RepositoryError,
    CurrentUser
  >
}

const make = Effect.gen(function* () {
  const repo = yield* SettingsRepository
  const utc = DateTime.zoneMakeNamedUnsafe(DEFAULT_TIME_ZONE)

  const stored = Effect.gen(function* () {
    const user = yield* CurrentUser
    return Option.getOrElse(yield* repo.get(user.id), () => DEFAULTS)
  })

  const resolve = (settings: StoredSettings) =>
    Effect.gen(function* () {
      const requested = yield* RequestedTimeZone
      const name = settings.timeZone ?? Option.getOrElse(requested, () => DEFAULT_TIME_ZONE)
      const zone = Option.getOrElse(zoneOf(name), () => utc)
      return { zone, name, weekStart: settings.weekStart }
    })

  const present = (settings: StoredSettings) =>
    Effect.map(
      resolve(settings),
      ({ name }): UserSettings => ({
        time_zone: settings.timeZone,
        week_start: settings.weekStart,
        effective_time_zone: name
      })
    )

  const save = (settings: StoredSettings) =>
    Effect.gen(function* () {
      const user = yield* CurrentUser
      return yield* present(yield* repo.put(user.id, settings))
    })

  return SettingsService.of({
    get: Effect.flatMap(stored, present).pipe(Effect.withSpan("SettingsService.get")),
    replace: Effect.fn("SettingsService.replace")(function* (input) {
      const params = yield* decodeReplace(input)
      return yield* save({ timeZone: params.time_zone ?? null, weekStart: params.week_start ?? "monday" })
    }),
    patch: Effect.fn("SettingsService.patch")(function* (input) {
      const params = yield* decodePatch(input)
      const current = yield* stored
      return yield* save({
        timeZone: params.time_zone === undefined ? current.timeZone : params.time_zone,
        weekStart: params.week_start ?? current.weekStart
      })
    }),
    effective: Effect.flatMap(stored, resolve)
  })
})

export class SettingsService extends Context.Service<SettingsService, SettingsServiceShape>()(
  "@taskport/core/SettingsService"
) {
  static readonly layer: Layer.Layer<SettingsService, never, SettingsRepository> = Layer.effect(this, make)
}
