// What every request leaves behind: its count and duration by route template, and a debug line. Both the platform's
// path and the short way on Node's server record through here.
import { HttpApp, type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import { performance } from "node:perf_hooks"
import * as routing from "./routing.js"

/**
 * The route of every request whose path no endpoint has: routes are templates, never paths, so that the series stay
 * few whatever clients send.
 *
 * @internal
 */
export const otherRoute = "other"

/**
 * The append endpoint's route template, as the short ways record it.
 *
 * @internal
 */
export const appendRoute = "/streams/{streamId}/events"

const requestsKey = MetricKey.counter("concord_http_requests_total", {
  description: "HTTP requests answered, by method, route template and status",
  incremental: true
})

const durationKey = MetricKey.histogram(
  "concord_http_request_duration_seconds",
  // From a fraction of a millisecond (an append on the memory store) to the longest request deadline worth seeing.
  MetricBoundaries.fromIterable([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  "Time from a request's arrival at the service to its answer (the start of a streamed body), by method and route"
)

/** The methods a request's label names as they are; any other is `other` (Node parses a few dozen). */
const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])

const noTags: ReadonlyArray<MetricLabel.MetricLabel> = []

interface MethodMetrics {
  readonly duration: Metric.Metric.Histogram<number>
  readonly byStatus: Map<number, Metric.Metric.Counter<number>>
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
}

/**
 * The metrics of each (route, method) and (route, method, status) seen, made once each with their labels: a metric
 * made from a tagged key resolves its registry entry once, where tagging at each update would look it up every time.
 * Bounded: routes are templates, methods a few, statuses three digits.
 */
const cache = globalValue(
  Symbol.for("@concord/server/internal/httpMetrics/cache"),
  () => new Map<string, Map<string, MethodMetrics>>()
)

const metricsOf = (route: string, method: string): MethodMetrics => {
  let byMethod = cache.get(route)
  if (byMethod === undefined) cache.set(route, byMethod = new Map())
  let metrics = byMethod.get(method)
  if (metrics === undefined) {
    const labels = [MetricLabel.make("method", method), MetricLabel.make("route", route)]
    metrics = {
      duration: Metric.fromMetricKey(MetricKey.taggedWithLabels(durationKey, labels)),
      byStatus: new Map(),
      labels
    }
    byMethod.set(method, metrics)
  }
  return metrics
}

/**
 * Counts a request answered and its duration.
 *
 * @internal
 */
export const record = (method: string, route: string, status: number, seconds: number): void => {
  const metrics = metricsOf(route, knownMethods.has(method) ? method : "other")
  let counter = metrics.byStatus.get(status)
  if (counter === undefined) {
    const labels = [...metrics.labels, MetricLabel.make("status", String(status))]
    metrics.byStatus.set(status, counter = Metric.fromMetricKey(MetricKey.taggedWithLabels(requestsKey, labels)))
  }
  counter.unsafeUpdate(1, noTags)
  metrics.duration.unsafeUpdate(seconds, noTags)
}

/**
 * Whether a minimum log level lets debug lines through: checked before a request's line is built, so that the
 * default level pays nothing for it.
 *
 * @internal
 */
export const isDebug = (minimum: LogLevel.LogLevel): boolean => minimum.ordinal <= LogLevel.Debug.ordinal

/**
 * A request's debug line: never its body or headers (the `Authorization` header holds the token), its path without
 * the query.
 *
 * @internal
 */
export const logRequest = (
  method: string,
  route: string,
  url: string,
  status: number,
  millis: number
): Effect.Effect<void> =>
  Effect.annotateLogs(Effect.logDebug("request"), {
    method,
    route,
    path: routing.pathOf(url),
    status,
    durationMs: Math.round(millis * 1000) / 1000
  })

/** A route template as the metrics name it: `{name}` for a parameter, as the OpenAPI document writes it. */
const templateOf = (path: string) => path.split("/").map((s) => (s.startsWith(":") ? `{${s.slice(1)}}` : s)).join("/")

/**
 * The route template of a request's URL among the router's paths (`:name` parameters), read as the router reads it
 * (see `routing.hasShape`), or {@link otherRoute}: the route of the path, whatever the method.
 *
 * @internal
 */
export const routeOf = (paths: Iterable<string>): (url: string) => string => {
  // Paths with fewer parameters first: a fixed segment wins over a parameter, as in the router.
  const routes = [...paths].sort((a, b) => a.split(":").length - b.split(":").length)
    .map((path) => ({ segments: path.split("/"), template: templateOf(path) }))
  // The path read once, then each route's segments compared with it (see `routing.hasShape`, which reads it each time).
  const matches = (segments: ReadonlyArray<string>, given: ReadonlyArray<string>) => {
    if (segments.length !== given.length) return false
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!
      if (segment.startsWith(":") || segment === given[i]) continue
      if (!given[i]!.includes("%") || !routing.isFixedSegment(given[i], segment)) return false
    }
    return true
  }
  return (url) => {
    const given = routing.pathOf(url).split("/")
    for (const route of routes) {
      if (matches(route.segments, given)) return route.template
    }
    return otherRoute
  }
}

/** When the request's fiber took it: read by the pre-response handler, in the same fiber. */
const startedAt = globalValue(
  Symbol.for("@concord/server/internal/httpMetrics/startedAt"),
  () => FiberRef.unsafeMake(0)
)

const now = () => performance.now()

/**
 * The platform's middleware of every request (given to `HttpApiBuilder.serve`, around the whole app): the time the
 * request's fiber takes it, and a pre-response handler that records the request as its answer is about to be
 * written (the status written, a failure's included: the platform runs the handler on every answer it writes).
 * Recorded before the answer is written, a request is counted before its client can see the answer and scrape.
 *
 * @internal
 */
export const middleware = (route: (url: string) => string) => {
  const observe = (
    request: HttpServerRequest.HttpServerRequest,
    response: HttpServerResponse.HttpServerResponse
  ): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
    FiberRef.getWith(startedAt, (started) => {
      const millis = performance.now() - started
      const routed = route(request.url)
      record(request.method, routed, response.status, millis / 1000)
      return FiberRef.getWith(FiberRef.currentMinimumLogLevel, (minimum) =>
        isDebug(minimum)
          ? Effect.as(logRequest(request.method, routed, request.url, response.status, millis), response)
          : Effect.succeed(response))
    })
  const start = Effect.zipRight(FiberRef.update(startedAt, now), HttpApp.appendPreResponseHandler(observe))
  return (app: HttpApp.Default): HttpApp.Default => Effect.zipRight(start, app)
}
