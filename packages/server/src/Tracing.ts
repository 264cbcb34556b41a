/**
 * Traces for operators. Every use case, adapter method and SQL statement runs in a named
 * span; with an OTLP endpoint configured the usual OpenTelemetry way
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, with the other
 * `OTEL_*` settings Effect's exporter reads; `OTEL_TRACES_EXPORTER` defaults to `otlp` and
 * `none` or `OTEL_SDK_DISABLED=true` turn it off) they are batched and sent there as JSON. Without one
 * nothing would ever read them, so none is made: a span's bookkeeping was a third of a read's
 * CPU time.
 */
import { ConfigProvider, Layer, References } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"
import type { ServerConfig } from "./ServerConfig.ts"

export const SERVICE_NAME = "taskport"

/** Exports the server's spans over OTLP when configured, and turns span making off otherwise. */
export const layer = (config: Pick<ServerConfig, "tracesExported">) =>
  config.tracesExported
    ? OtlpTracer.layerFromConfig({ resource: { serviceName: SERVICE_NAME } }).pipe(
        Layer.provide(Layer.merge(FetchHttpClient.layer, OtlpSerialization.layerJson)),
        // OpenTelemetry's default exporter is OTLP; Effect's reader wants it named.
        Layer.provide(ConfigProvider.layerAdd(ConfigProvider.fromUnknown({ OTEL_TRACES_EXPORTER: "otlp" })))
      )
    : Layer.succeed(References.TracerEnabled, false)
