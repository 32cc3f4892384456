/**
 * The event-storage service: the HTTP API served over whatever `EventStore` is provided, with bearer-token
 * checking, a body limit, structured logs, spans and metrics (served at `GET /metrics` in Prometheus's text format).
 *
 * Every request is counted in `concord_http_requests_total{method,route,status}` and timed in
 * `concord_http_request_duration_seconds{method,route}`, from the time the service takes it to the time its answer is
 * handed to Node to be written (for a streamed body, its start). `route` is the route's template
 * (`/streams/{streamId}/events`), `other` for a path no route has; `method` is GET, HEAD, POST, PUT, DELETE, PATCH,
 * OPTIONS or `other`. At debug level, each request logs one line `request` with its method, route, path (without the
 * query), status and `durationMs`, never its body or headers. At the default level appends log nothing but warnings:
 * those of {@link Options} `slowAppendThreshold` and `conflictWarningThreshold`, and an append the store's deadline
 * answered.
 *
 * @since 0.1.0
 */
import { type EventStore, Telemetry } from "@concord/core"
import type { HttpRouter, HttpServer } from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as app from "./internal/app.js"
import * as appendWarnings from "./internal/appendWarnings.js"
import * as deadline from "./internal/deadline.js"
import * as nodeServer from "./internal/nodeServer.js"
import * as startup from "./internal/startup.js"
import * as subscriptions from "./internal/subscriptions.js"
import type * as Registries from "./Registries.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `127.0.0.1`. Any other address requires a token. */
  readonly host?: string | undefined
  /** Default 8080; 0 picks a free port. */
  readonly port?: number | undefined
  /**
   * When set, every request must carry `Authorization: Bearer <token>`. At least {@link minTokenLength} characters:
   * a shorter one is refused at start.
   */
  readonly token?: Redacted.Redacted | undefined
  /** The largest request body accepted (default 1 MiB); larger ones get 413. */
  readonly maxBodyBytes?: number | undefined
  /** Default: plain optimistic concurrency for every stream. */
  readonly registries?: Registries.Registries | undefined
  /**
   * How often a subscription (`GET /events/subscribe`) sends a comment line, so that proxies keep an idle one open
   * (default 15 seconds, at least 10 milliseconds).
   *
   * @since 0.2.0
   */
  readonly keepAliveInterval?: Duration.DurationInput | undefined
  /**
   * How long the service takes to answer a request, from its arrival, reading its body included (default
   * {@link defaultRequestTimeout}, 13 seconds; from 1 millisecond to 2^31 - 1 milliseconds, about 24.8 days, or the
   * layer fails with {@link TimeoutOutOfRange}). A request still unanswered then gets a 503 and its connection is
   * closed; the work it started is abandoned, not waited for. An append answers `AppendTimeout`, whose
   * `mayHaveCommitted` is false only when the store was not yet called (and then it never is); any other request
   * `ServiceUnavailable`. Set it a few seconds above the store's own deadline for an append (an SQL store's
   * `appendTimeoutMillis`), so that the store's answer, more precise, comes first: the default is above the SQL stores'
   * defaults. A subscription's deadline covers its start and each page of its catch-up, not the live stream after.
   *
   * @since 0.3.0
   */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /**
   * How long {@link layer} takes to shut down (default {@link defaultShutdownTimeout}, 15 seconds; from 1 millisecond
   * to 2^31 - 1 milliseconds, or the layer fails with {@link TimeoutOutOfRange}): it stops accepting connections, ends
   * subscriptions, and lets the requests in flight finish until then; at the bound it cuts every connection left and
   * closes, whatever its clients do. Keep it above `requestTimeout`, so that every request received gets an answer.
   *
   * @since 0.3.0
   */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  /**
   * Whether the service serves `GET /metrics` (default `true`): every Effect metric of the process in Prometheus's
   * text format (version 0.0.4), the service's, its store's and any other, behind the token when there is one. With
   * `false`, `/metrics` is a path like any other the service has not: 404. The path is not in the OpenAPI document,
   * which describes the API only.
   *
   * @since 0.4.0
   */
  readonly metrics?: boolean | undefined
  /**
   * An append whose call to the store takes longer than this logs a warning with its stream, its number of events,
   * the call's duration and its outcome (default {@link defaultSlowAppendThreshold}, 1 second; `Duration.infinity`
   * turns it off). On every way an append is answered.
   *
   * @since 0.4.0
   */
  readonly slowAppendThreshold?: Duration.DurationInput | undefined
  /**
   * When more than this many appends are refused for a conflict within the last minute, a warning comes at once, with
   * that append: how many, and which streams had the most (up to 3, with their counts); then none for a minute,
   * whatever follows (default {@link defaultConflictWarningThreshold}, 10; 0 turns it off). The minute slides in steps
   * of ten seconds (the current ten seconds and the five before, so the last 50 to 60 seconds). The streams are
   * counted in bounded memory however many there are: past 16 streams in ten seconds, the counts named are upper
   * bounds.
   *
   * @since 0.4.0
   */
  readonly conflictWarningThreshold?: number | undefined
}

/**
 * The shortest token the service accepts: a short one (or an empty one, which a request without the header would
 * match) is no protection.
 *
 * @since 0.1.0
 * @category options
 */
export const minTokenLength: number = startup.minTokenLength

/**
 * The deadline of a request when {@link Options} gives none: above the SQL stores' default deadlines for an append
 * (10 seconds for `PgEventStore` without a lock timeout, `SqliteEventStore`'s busy timeout of 10 seconds + 1), so that
 * their answer, which says whether the batch may have been committed, comes first.
 *
 * @since 0.3.0
 * @category options
 */
export const defaultRequestTimeout: Duration.Duration = Duration.seconds(13)

/**
 * The bound of a shutdown when {@link Options} gives none: above {@link defaultRequestTimeout}, so that every request
 * received before the shutdown is answered.
 *
 * @since 0.3.0
 * @category options
 */
export const defaultShutdownTimeout: Duration.Duration = Duration.seconds(15)

/**
 * The longest `requestTimeout` or `shutdownTimeout`, in milliseconds: 2^31 - 1, about 24.8 days, the longest delay of
 * Node's timers (which run a longer one at once).
 *
 * @since 0.3.0
 * @category options
 */
export const maxTimeoutMillis: number = deadline.maxMillis

/**
 * The slow-append threshold when {@link Options} gives none.
 *
 * @since 0.4.0
 * @category options
 */
export const defaultSlowAppendThreshold: Duration.Duration = appendWarnings.defaultSlowAppendThreshold

/**
 * How many conflicts within a minute pass without a warning when {@link Options} gives no threshold.
 *
 * @since 0.4.0
 * @category options
 */
export const defaultConflictWarningThreshold: number = appendWarnings.defaultConflictWarningThreshold

/**
 * Whether a host is a loopback address, the only kind the service binds without a token.
 *
 * @since 0.1.0
 * @category options
 */
export const isLoopback: (host: string) => boolean = startup.isLoopback

/**
 * A refusal to start: a token shorter than {@link minTokenLength} characters.
 *
 * @since 0.1.0
 * @category errors
 */
export class WeakToken extends Data.TaggedError("WeakToken")<{ readonly message: string }> {}

/**
 * A refusal to start: binding beyond loopback without a token.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsafeBinding extends Data.TaggedError("UnsafeBinding")<{ readonly message: string }> {}

/**
 * A refusal to start: a `requestTimeout` or `shutdownTimeout` below 1 millisecond or above {@link maxTimeoutMillis}
 * (as `Duration.infinity`), which no timer could keep.
 *
 * @since 0.3.0
 * @category errors
 */
export class TimeoutOutOfRange extends Data.TaggedError("TimeoutOutOfRange")<{
  readonly option: "requestTimeout" | "shutdownTimeout"
  readonly message: string
}> {}

// The refusals to start, checked before anything is built.
const weakToken = (options: Options): WeakToken | undefined => {
  const message = startup.weakTokenReason(options.token)
  return message === undefined ? undefined : new WeakToken({ message })
}

const unsafeBinding = (options: Options): UnsafeBinding | undefined => {
  const message = startup.unsafeBindingReason(options.host ?? startup.defaultHost, options.token)
  return message === undefined ? undefined : new UnsafeBinding({ message })
}

const timeoutOutOfRange = (
  option: "requestTimeout" | "shutdownTimeout",
  timeout: Duration.Duration
): TimeoutOutOfRange | undefined => {
  const millis = Duration.toMillis(timeout)
  return millis >= 1 && millis <= maxTimeoutMillis ? undefined : new TimeoutOutOfRange({
    option,
    message: `${option} must be between 1 millisecond and ${maxTimeoutMillis} milliseconds (about 24.8 days), ` +
      `not ${Duration.format(timeout)}`
  })
}

const requestTimeoutOf = (options: Options) => Duration.decode(options.requestTimeout ?? defaultRequestTimeout)

const shutdownTimeoutOf = (options: Options) => Duration.decode(options.shutdownTimeout ?? defaultShutdownTimeout)

/**
 * The API, its OpenAPI document at `/docs/openapi.json`, a browsable page at `/docs` and the metrics at `/metrics`
 * (unless {@link Options} `metrics` is `false`), over the `EventStore` in context, served by the `HttpServer` in
 * context. With a token, every request must carry it, the docs and metrics included. Subscriptions end when the layer
 * is released. The store is called through `Telemetry.layer` of `@concord/core`: its appends counted by outcome and
 * timed, its operations traced where a tracer is installed where the layer is built.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerApp = (
  options: Options = {}
): Layer.Layer<
  never,
  WeakToken | TimeoutOutOfRange,
  EventStore.EventStore | HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices
> => {
  const refused = weakToken(options) ?? timeoutOutOfRange("requestTimeout", requestTimeoutOf(options))
  if (refused !== undefined) return Layer.fail(refused)
  return Layer.unwrapEffect(
    Effect.sync(() => app.make({ ...options, requestTimeout: requestTimeoutOf(options) }, subscriptions.make()))
  ).pipe(Layer.provide(Telemetry.layer), Layer.provide(app.quietRequestFibers))
}

/**
 * The service on Node's HTTP server. It prints the address it listens on and its docs address once it is ready.
 * On shutdown (the scope closing, as on SIGTERM) it stops accepting connections, ends every subscription, answers
 * every request it has received that finishes within `shutdownTimeout`, then cuts the connections left and closes.
 * Appends are answered by Node's listener itself, with the same answers, logs and counters as the platform's; with a
 * tracer installed (`OtlpExport.layer` provided), every request has its server span and every store call its span
 * inside it, and without one no span is made (the store is called through `Telemetry.layer` of `@concord/core`, as in
 * {@link layerApp}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<never, UnsafeBinding | WeakToken | TimeoutOutOfRange | ServeError, EventStore.EventStore> => {
  // Refused before the port is bound.
  const shutdownTimeout = shutdownTimeoutOf(options)
  const refused = weakToken(options) ?? unsafeBinding(options) ??
    timeoutOutOfRange("requestTimeout", requestTimeoutOf(options)) ??
    timeoutOutOfRange("shutdownTimeout", shutdownTimeout)
  if (refused !== undefined) return Layer.fail(refused)
  return nodeServer.layer({
    ...options,
    host: options.host ?? startup.defaultHost,
    port: options.port ?? 8080,
    requestTimeout: requestTimeoutOf(options),
    shutdownTimeout
  }).pipe(Layer.map(() => Context.empty()))
}
