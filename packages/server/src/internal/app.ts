import type { EventStore } from "@concord/core"
import { Headers, HttpApiBuilder, HttpApiSwagger, HttpRouter, type HttpServer } from "@effect/platform"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import { ConcordApi } from "../Api.js"
import * as Registries from "../Registries.js"
import * as appendWarnings from "./appendWarnings.js"
import * as authorization from "./authorization.js"
import * as deadline from "./deadline.js"
import * as decodeErrors from "./decodeErrors.js"
import * as fastAppend from "./fastAppend.js"
import * as globalLog from "./globalLog.js"
import * as handlers from "./handlers.js"
import * as httpMetrics from "./httpMetrics.js"
import * as notFound from "./notFound.js"
import * as openApi from "./openApi.js"
import * as prometheus from "./prometheus.js"
import * as requestGuard from "./requestGuard.js"
import * as routing from "./routing.js"
import type * as subscriptions from "./subscriptions.js"

const defaultMaxBodyBytes = 1024 * 1024

const defaultKeepAliveInterval = Duration.seconds(15)

/**
 * How long, once the service shuts down, a subscription's reader has to take the end before it is cut off.
 *
 * @internal
 */
export const subscriptionGrace = Duration.seconds(2)

const docsPath = "/docs"
const documentPath = "/docs/openapi.json"
const metricsPath = "/metrics"

/**
 * The service's options as the app takes them, its request deadline resolved; `fastAppends: false` leaves every append
 * to the general path (see `fastAppend`), which answers each the same way, only at a higher cost.
 *
 * @internal
 */
export interface Options {
  readonly token?: Redacted.Redacted | undefined
  readonly maxBodyBytes?: number | undefined
  readonly registries?: Registries.Registries | undefined
  readonly keepAliveInterval?: Duration.DurationInput | undefined
  readonly requestTimeout: Duration.Duration
  readonly fastAppends?: boolean | undefined
  readonly metrics?: boolean | undefined
  readonly slowAppendThreshold?: Duration.DurationInput | undefined
  readonly conflictWarningThreshold?: number | undefined
}

/**
 * The largest body the options allow.
 *
 * @internal
 */
export const maxBodyBytesOf = (options: Options): number => options.maxBodyBytes ?? defaultMaxBodyBytes

/**
 * The registries the options give, plain optimistic concurrency for every stream without.
 *
 * @internal
 */
export const registriesOf = (options: Options): Registries.Registries => options.registries ?? Registries.strict

/**
 * The paths the router has, as it was given them (`:name` parameters): the API's, the docs', and `/metrics` when served.
 */
const routedPaths = (metrics: boolean): ReadonlyArray<string> => [
  ...Object.values(ConcordApi.groups).flatMap((group) => Object.values(group.endpoints).map(({ path }) => path)),
  docsPath,
  documentPath,
  ...(metrics ? [metricsPath] : [])
]

/**
 * Headers whose values a request's server span shows as `<redacted>` (the platform records every header of a request
 * it traces): the platform's own list, and the other headers that commonly carry a credential.
 *
 * @internal
 */
export const redactedHeaders: ReadonlyArray<string> = [
  "authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "proxy-authorization",
  "x-auth-token",
  "x-access-token",
  "x-csrf-token"
]

/**
 * What the request fibers of the layer that serves inherit: no debug line of Effect's for each one that ends in an
 * error (the error was answered, and the line's cause quotes what the request held: a decode error the value it
 * refused, a conflict the committed events), and the headers that spans redact ({@link redactedHeaders}).
 *
 * @internal
 */
export const quietRequestFibers: Layer.Layer<never> = Layer.mergeAll(
  Layer.setUnhandledErrorLogLevel(Option.none()),
  Layer.locallyScoped(Headers.currentRedactedNames, redactedHeaders)
)

/**
 * The app over a given set of subscriptions, which the service's drain ends first, and the watch of its appends, which
 * the short way on Node's server shares (one is made when none is given).
 *
 * @internal
 */
export const make = (
  options: Options,
  live: subscriptions.Subscriptions,
  warnings: appendWarnings.AppendWarnings = appendWarnings.make(options)
): Layer.Layer<never, never, EventStore.EventStore | HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices> => {
  const maxBodyBytes = maxBodyBytesOf(options)
  const keepAliveInterval = Duration.max(
    Duration.decode(options.keepAliveInterval ?? defaultKeepAliveInterval),
    Duration.millis(10)
  )
  const { requestTimeout, token } = options
  const registries = registriesOf(options)
  const metrics = options.metrics !== false
  // Every request is counted, by the route of its path, around everything else.
  return HttpApiBuilder.serve(httpMetrics.middleware(httpMetrics.routeOf(routedPaths(metrics)))).pipe(
    Layer.provide(HttpApiSwagger.layer({ path: docsPath })),
    Layer.provide(metrics ? prometheus.layerRoute(metricsPath) : Layer.empty),
    Layer.provide(HttpRouter.setRouterConfig(routing.routerConfig)),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: documentPath })),
    // The API's middlewares, each added after those provided below it and so around them: the deadline around
    // everything, the short way of appends inside it, and around the router the body's limit and the answers to what
    // the router or the endpoints' decoding refuses, which the short way leaves to them.
    Layer.provide(deadline.layer(requestTimeout)),
    Layer.provide(
      options.fastAppends === false ? Layer.empty : fastAppend.layer({ maxBodyBytes, token, registries, warnings })
    ),
    Layer.provide(requestGuard.layerBodyReading(maxBodyBytes)),
    Layer.provide(decodeErrors.layer),
    Layer.provide(notFound.layer),
    Layer.provide(
      // The served document, the `/docs` page's included, applies the bearer scheme only when a token is required.
      HttpApiBuilder.api(openApi.served(ConcordApi, { bearer: token !== undefined })).pipe(
        Layer.provide(handlers.layerStreams(registries, warnings)),
        Layer.provide(globalLog.layerEvents({ subscriptions: live, keepAliveInterval, requestTimeout })),
        Layer.provide(handlers.layerHealth),
        Layer.provide(authorization.layer(token)),
        Layer.provide(requestGuard.layer(maxBodyBytes))
      )
    ),
    // Whoever else ends them, the subscriptions end with the app, before the server it runs on closes: a server
    // waits for its open responses, and a subscription's would never end.
    Layer.merge(Layer.scopedDiscard(Effect.addFinalizer(() => live.end(subscriptionGrace))))
  )
}
