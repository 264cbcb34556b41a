/**
 * Builds the REST app in process over a test database with the real jose authenticator
 * (HS256 shared secret), and a small client that sends requests through `app.request`
 * without a socket, so every suite exercises the same stack a server would.
 */
import { OfflineAgentRunner } from "@taskport/agent"
import { JoseAuthenticator, TokenMinter } from "@taskport/auth"
import { type AgentRunner, type ChatOptions, WebhookService } from "@taskport/core"
import type { PgDatabase } from "@taskport/postgres"
import { RestApp } from "@taskport/rest"
import { AddressGuard } from "@taskport/webhooks"
import { Effect, Layer, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import type { H3 } from "h3"
import { chatLayer } from "./ChatHarness.ts"

export const TEST_SECRET = Redacted.make("taskport-test-secret-0123456789-abcdefghij")

/**
 * Everything the REST app needs, the webhook routes included (their guard allows local
 * addresses, as suites' receivers are local); chat answers with the offline interpreter
 * unless a runner is given.
 */
export const servicesLayer = (
  database: Layer.Layer<PgDatabase.Persistence | SqlClient.SqlClient, unknown>,
  runner: Layer.Layer<AgentRunner> = OfflineAgentRunner.layer,
  chat: ChatOptions = {}
) =>
  Layer.fresh(WebhookService.layer).pipe(
    Layer.provide(AddressGuard.layer({ allowPrivate: true })),
    Layer.provideMerge(
      Layer.mergeAll(JoseAuthenticator.layer({ secret: TEST_SECRET }), chatLayer(database, runner, chat))
    )
  )

export const tokenFor = (user: string, ttlSeconds = 3600) =>
  Effect.promise(() => TokenMinter.mintToken({ secret: TEST_SECRET, subject: user, ttlSeconds }))

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: unknown
  readonly text: string
}

/** Sends one request; a plain-object body is sent as JSON. */
export const send = (
  app: H3,
  method: string,
  path: string,
  options: {
    readonly token?: string
    readonly body?: unknown
    readonly headers?: Record<string, string>
  } = {}
): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body)
      headers["content-type"] ??= "application/json"
    }
    const response = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) })
    const text = await response.text()
    let parsed: unknown = null
    try {
      parsed = text === "" ? null : JSON.parse(text)
    } catch {
      parsed = text
    }
    return { status: response.status, headers: response.headers, body: parsed, text }
  })

export const makeApp = (options: RestApp.RestOptions = {}) => RestApp.make({ log: () => {}, ...options })
