/**
 * Export of the service's traces, metrics and logs to an OpenTelemetry collector, over OTLP/HTTP with JSON bodies
 * (`@effect/opentelemetry`'s own exporters on `fetch`: no OpenTelemetry SDK runs). Provided to `Server.layer`, it
 * installs a tracer, so that every request has its server span and each store operation its span inside it (only in
 * the share of traces that `traceRatio` samples); every Effect metric is sent at each interval, and every log line the
 * service writes.
 *
 * Nothing it sends holds event data or a token: spans carry ids, versions and counts, the request's URL and headers
 * (`Authorization` redacted by the platform), and a failure's error tag without its message (see {@link layer}). The
 * log lines sent are those the service's log level lets through.
 *
 * @since 0.4.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as internal from "./internal/otlpExport.js"

/**
 * @since 0.4.0
 * @category models
 */
export interface Options {
  /**
   * The collector's OTLP/HTTP base URL (`http:` or `https:`), as `OTEL_EXPORTER_OTLP_ENDPOINT` gives it, such as
   * `http://localhost:4318`: spans go to `<endpoint>/v1/traces`, metrics to `/v1/metrics`, logs to `/v1/logs`. No
   * credentials, query or fragment: a collector's key goes in {@link Options.headers}.
   */
  readonly endpoint: string
  /** The resource's `service.name` (default {@link defaultServiceName}). */
  readonly serviceName?: string | undefined
  /**
   * How often what was gathered is sent (default {@link defaultExportInterval}); spans and log lines are also sent
   * as soon as a thousand wait.
   */
  readonly exportInterval?: Duration.DurationInput | undefined
  /**
   * How long the layer's release waits for the last sends (default {@link defaultShutdownTimeout}): what a collector
   * has not taken by then is dropped. Provided to `Server.layer`, the export is released once the service has drained,
   * so it adds up to this to a shutdown (`concord serve` gives it the default, or `--shutdown-timeout-ms` if less).
   */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  /** Headers sent with every export, such as a collector's API key. */
  readonly headers?: Headers.Input | undefined
  /**
   * The share of traces sent, from 0 to 1 (default 1: every request's). Sampling is decided at the head of a trace
   * and followed by each span in it, so a trace is sent whole or not at all: a request that comes with a
   * `traceparent` is traced as its flags say (`01` sampled, `00` not), whatever the ratio; any other request starts a
   * trace sent with probability `traceRatio`. At 0, no trace is sent but those a caller asks for; metrics and log
   * lines are sent whatever the ratio.
   *
   * Each traced request costs the service CPU time to record, serialize and upload its spans (about as much as an
   * append on SQLite takes itself); a request not traced is spared those, though its spans are still made (as objects
   * that record nothing).
   *
   * @since 0.4.0
   */
  readonly traceRatio?: number | undefined
}

/**
 * The resource's `service.name` when {@link Options} gives none.
 *
 * @since 0.4.0
 * @category options
 */
export const defaultServiceName: string = internal.defaultServiceName

/**
 * How often gathered spans, metrics and log lines are sent when {@link Options} gives no interval.
 *
 * @since 0.4.0
 * @category options
 */
export const defaultExportInterval: Duration.Duration = internal.defaultExportInterval

/**
 * The bound of the last sends on release when {@link Options} gives none.
 *
 * @since 0.4.0
 * @category options
 */
export const defaultShutdownTimeout: Duration.Duration = internal.defaultShutdownTimeout

/**
 * A refusal to start: an endpoint that is no `http:` or `https:` URL, or one with credentials, a query or a fragment.
 * Its `endpoint` is shown without user info, query or fragment.
 *
 * @since 0.4.0
 * @category errors
 */
export class InvalidEndpoint extends Schema.TaggedError<InvalidEndpoint>()("InvalidEndpoint", {
  endpoint: Schema.String,
  message: Schema.String
}) {}

/**
 * A refusal to start: a trace ratio that is not a number from 0 to 1.
 *
 * @since 0.4.0
 * @category errors
 */
export class InvalidTraceRatio extends Schema.TaggedError<InvalidTraceRatio>()("InvalidTraceRatio", {
  traceRatio: Schema.Number,
  message: Schema.String
}) {}

/**
 * Why a trace ratio is refused, or `undefined` when it is a number from 0 to 1.
 *
 * @since 0.4.0
 * @category options
 */
export const traceRatioProblem: (traceRatio: number) => string | undefined = internal.traceRatioProblem

/**
 * Why an endpoint is refused, or `undefined` when it is an `http:` or `https:` URL without credentials
 * (`user:password@`, which `fetch` refuses), query or fragment (the signals' paths are added at its end). The reason
 * never quotes a credential.
 *
 * @since 0.4.0
 * @category options
 */
export const endpointProblem: (endpoint: string) => string | undefined = internal.endpointProblem

/**
 * Traces, metrics and log lines sent to the collector at `options.endpoint`, for whatever is built with this layer
 * provided: provide it to `Server.layer` (`Server.layer(options).pipe(Layer.provide(OtlpExport.layer(...)))`), which
 * sees the tracer it installs when it is built and then gives every request its spans.
 *
 * A collector that cannot be reached costs the service nothing but the spans: each send is made in the background,
 * tried a few times, and then sending pauses for a minute (said in a debug log line) while what is gathered meanwhile
 * is dropped. When the layer is released, what waits is sent, for at most `shutdownTimeout`.
 *
 * Errors are sent by their tags only: a failed span's status and exception, and the cause of a log line (sent as a log
 * record and as an event of the span it was logged in), say which error it was, never its message or fields, which may
 * quote what a request held (a decode error quotes the value it refused; a conflict carries the committed events). So
 * are the parts of a log line's message and the values of its annotations that are not primitive values: an error or
 * an object given to `Effect.logError("store failure", error)` is sent as its tag (`_tag`, else its name, else
 * `object`). The log lines written to stdout keep their causes and parts whole.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<never, InvalidEndpoint | InvalidTraceRatio> =>
  internal.layer(options, {
    endpoint: (endpoint, message) => new InvalidEndpoint({ endpoint, message }),
    traceRatio: (traceRatio, message) => new InvalidTraceRatio({ traceRatio, message })
  })
