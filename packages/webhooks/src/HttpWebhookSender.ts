/**
 * The `WebhookSender` adapter over `node:http`/`node:https`: each attempt checks the URL with
 * the address guard again (what a name resolves to can change after registration), then
 * connects to the address it checked, never resolving the name a second time, and POSTs the
 * signed body. Redirects are not followed (a 3xx is a failure, as the spec advises), the whole
 * attempt has a short deadline, and the answer's body is discarded unread.
 */
import * as Http from "node:http"
import * as Https from "node:https"
import type { LookupFunction } from "node:net"
import { type OutgoingDelivery, type SendOutcome, type UrlRefusal, WebhookSender } from "@taskport/core"
import { Duration, Effect, Layer, Redacted } from "effect"
import { type GuardOptions, type ResolvedAddress, resolveChecked } from "./AddressGuard.ts"
import * as WebhookSignature from "./WebhookSignature.ts"

export interface SenderOptions extends GuardOptions {
  /** The longest an attempt may take, up to the answer's status line (default 10 s). */
  readonly timeout?: Duration.Duration | undefined
  readonly userAgent?: string | undefined
}

/** A lookup that answers with the checked address, whatever the name. */
const pinnedLookup =
  (target: ResolvedAddress): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ address: target.address, family: target.family }])
    else callback(null, target.address, target.family)
  }

const retryAfterSeconds = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\d{1,7}$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/** A short reason for a failure without an answer; never the error's whole text. */
const reasonOf = (error: NodeJS.ErrnoException, timedOut: boolean): string => {
  if (timedOut) return "timed out"
  switch (error.code) {
    case "ECONNREFUSED":
      return "connection refused"
    case "ECONNRESET":
      return "connection reset"
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable"
    default:
      return error.code !== undefined && /^[A-Z_]+$/.test(error.code)
        ? `connection failed (${error.code})`
        : "connection failed"
  }
}

const post = (
  url: URL,
  target: ResolvedAddress,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number
): Promise<SendOutcome> =>
  new Promise((resolve) => {
    const started = performance.now()
    const elapsedMs = () => performance.now() - started
    let settled = false
    let timedOut = false
    const settle = (outcome: SendOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      resolve(outcome)
    }
    const client = url.protocol === "https:" ? Https : Http
    const request = client.request(url, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      lookup: pinnedLookup(target),
      agent: false
    })
    const deadline = setTimeout(() => {
      timedOut = true
      request.destroy(new Error("timed out"))
    }, timeoutMs)
    request.on("response", (response) => {
      settle({
        _tag: "Answered",
        status: response.statusCode ?? 0,
        retryAfterSeconds: retryAfterSeconds(
          typeof response.headers["retry-after"] === "string" ? response.headers["retry-after"] : undefined
        ),
        elapsedMs: elapsedMs()
      })
      response.resume()
    })
    request.on("error", (error: NodeJS.ErrnoException) =>
      settle({ _tag: "NoAnswer", reason: reasonOf(error, timedOut), elapsedMs: elapsedMs() })
    )
    request.end(body)
  })

export const make = (options: SenderOptions) => {
  return WebhookSender.of({
    send: (delivery) =>
      Effect.withSpan(attempt(delivery), "HttpWebhookSender.send", { captureStackTrace: false })
  })

  function attempt(delivery: OutgoingDelivery): Effect.Effect<SendOutcome> {
    return Effect.gen(function* () {
      const addresses = yield* resolveChecked(delivery.url, options)
      // Checked just now, all of them; the first is the one connected to.
      const target = addresses[0]!
      const body = delivery.body
      const headers = {
        "content-type": "application/json",
        "user-agent": options.userAgent ?? "Taskport-Webhooks/1",
        ...WebhookSignature.headers(
          Redacted.value(delivery.secret),
          delivery.messageId,
          delivery.timestampSeconds,
          body
        )
      }
      const timeoutMs = Duration.toMillis(options.timeout ?? Duration.seconds(10))
      return yield* Effect.promise(() => post(new URL(delivery.url), target, headers, body, timeoutMs))
    }).pipe(
      Effect.catch((refusal: UrlRefusal) =>
        Effect.succeed<SendOutcome>({ _tag: "NoAnswer", reason: `refused: ${refusal.reason}`, elapsedMs: 0 })
      )
    )
  }
}

export const layer = (options: SenderOptions): Layer.Layer<WebhookSender> =>
  Layer.succeed(WebhookSender, make(options))
