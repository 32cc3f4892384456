import { type EventStore, Telemetry } from "@concord/core"
import type { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import * as app from "./app.js"
import * as appendWarnings from "./appendWarnings.js"
import * as clientErrors from "./clientErrors.js"
import * as drain from "./drain.js"
import * as listening from "./listening.js"
import * as nodeAppend from "./nodeAppend.js"
import * as subscriptions from "./subscriptions.js"

/**
 * The service's options as the Node server takes them, its deadlines resolved; `nodeAppends: false` leaves every
 * request to the platform (see `nodeAppend`).
 *
 * @internal
 */
export interface Options extends app.Options {
  readonly host: string
  readonly port: number
  readonly shutdownTimeout: Duration.Duration
  readonly nodeAppends?: boolean | undefined
}

/**
 * The service on a Node server of its own, which it listens with and drains on shutdown (see `Server.layer`).
 *
 * @internal
 */
export const layer = (
  options: Options
): Layer.Layer<HttpServer.HttpServer, ServeError, EventStore.EventStore> =>
  // One Node server per build of the layer, shared by the listener, the drain and the short way of appends.
  Layer.unwrapEffect(Effect.sync(() => {
    const server = clientErrors.install(createServer())
    const live = subscriptions.make()
    // One watch of appends for both ways of answering them.
    const warnings = appendWarnings.make(options)
    const drained = drain.layer(server, {
      endSubscriptions: live.end,
      subscriptionGrace: app.subscriptionGrace,
      shutdownTimeout: options.shutdownTimeout
    })
    // The drain counts requests with a listener of its own, added now; the platform's is added when the app is built.
    const before = new Set(server.listeners("request"))
    // Built in order: the server listens, the API serves on it, then the drain and the short way of appends, whose
    // finalizers therefore run first, while the API still answers and the store is still open.
    return Layer.mergeAll(
      listening.layer,
      drained,
      options.nodeAppends === false ? Layer.empty : nodeAppend.layer(server, before, {
        maxBodyBytes: app.maxBodyBytesOf(options),
        token: options.token,
        registries: app.registriesOf(options),
        requestTimeout: options.requestTimeout,
        warnings
      })
    ).pipe(
      Layer.provide(app.make(options, live, warnings)),
      Layer.provideMerge(NodeHttpServer.layer(() => server, { host: options.host, port: options.port })),
      // Both ways of answering appends call the store measured (and traced where a tracer is installed).
      Layer.provide(Telemetry.layer),
      Layer.provide(app.quietRequestFibers)
    )
  }))
