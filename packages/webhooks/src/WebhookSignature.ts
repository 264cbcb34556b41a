/**
 * Standard Webhooks signing (spec 1.0.0, symmetric scheme): the secret is `whsec_` followed
 * by the base64 of the key; the signature is `v1,` followed by the base64 HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{body}` under that key.
 */
import { createHmac } from "node:crypto"

const PREFIX = "whsec_"

/** The key bytes of a `whsec_` secret. */
export const secretKey = (secret: string): Buffer =>
  Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64")

/** The `webhook-signature` header value for one message. */
export const sign = (secret: string, messageId: string, timestampSeconds: number, body: string): string =>
  `v1,${createHmac("sha256", secretKey(secret)).update(`${messageId}.${timestampSeconds}.${body}`).digest("base64")}`

/** The three headers of a signed delivery. */
export const headers = (
  secret: string,
  messageId: string,
  timestampSeconds: number,
  body: string
): Record<string, string> => ({
  "webhook-id": messageId,
  "webhook-timestamp": String(timestampSeconds),
  "webhook-signature": sign(secret, messageId, timestampSeconds, body)
})
