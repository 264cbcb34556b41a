/**
 * @taskport/webhooks: the adapters behind the core's webhook ports: Standard Webhooks
 * signing, the guard against calling internal addresses, and the HTTP sender.
 */
export * as AddressGuard from "./AddressGuard.ts"
export * as HttpWebhookSender from "./HttpWebhookSender.ts"
export * as WebhookSignature from "./WebhookSignature.ts"
