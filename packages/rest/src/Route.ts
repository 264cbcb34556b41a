/**
 * The one shape every REST route is registered in: a method, a path in OpenAPI form and a
 * handler. A user route runs only for a verified token's user (and, under `/api/{user_id}`,
 * only when the path names that user); a public route runs for anyone.
 */
import type {
  Authenticator,
  ChatService,
  EventFeed,
  EventLog,
  IdempotencyStore,
  SettingsService,
  TodoToolHandlers,
  UserId
} from "@taskport/core"
import type { RequestLog } from "@taskport/http"
import type { Effect } from "effect"
import type { H3Event, HTTPResponse } from "h3"
import type { HttpFailure } from "./HttpFailure.ts"
import type { Method } from "./Routes.ts"

export type RestServices =
  | Authenticator
  | TodoToolHandlers
  | ChatService
  | IdempotencyStore
  | SettingsService
  | EventLog
  | EventFeed

export type RouteResult = Effect.Effect<HTTPResponse, HttpFailure, RestServices>

export type Route =
  | {
      readonly access: "public"
      readonly method: Method
      readonly path: string
      readonly handle: (event: H3Event, scope: RequestLog.RequestScope) => RouteResult
    }
  | {
      readonly access: "user"
      readonly method: Method
      readonly path: string
      readonly handle: (event: H3Event, scope: RequestLog.RequestScope, user: UserId) => RouteResult
    }
