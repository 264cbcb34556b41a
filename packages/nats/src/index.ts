/** @taskport/nats: the NATS JetStream adapter of the core's `EventSink`. */
export * as NatsEventSink from "./NatsEventSink.ts"
