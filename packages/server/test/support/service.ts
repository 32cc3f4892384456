// The service as the tests run it: the application over the in-memory store, on a free port of loopback.
import { EventStore } from "@concord/core"
import { Server } from "@concord/server"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer } from "effect"
import { createServer } from "node:http"
import * as nodeServer from "../../src/internal/nodeServer.js"

/** The service with these options over the in-memory store, on a free port of loopback. */
export const serviceAt = (options: Server.Options = {}) =>
  Server.layerApp(options).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(EventStore.layerMemory())
  )

/** The address the running service listens on, as a URL. */
export const baseUrl = Effect.map(
  HttpServer.HttpServer,
  (server) => server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

/**
 * The service on a Node server of its own (as `Server.layer` runs it) with these options and the test's defaults (a
 * free port of loopback, a 13 s request deadline, a 2 s shutdown), over the `EventStore` the layer is given; its base
 * URL, for the test's scope.
 */
export const nodeServiceUrl = <E>(
  options: Partial<nodeServer.Options>,
  store: Layer.Layer<EventStore.EventStore, E>
) =>
  Effect.flatMap(
    Layer.build(
      nodeServer.layer({
        host: "127.0.0.1",
        port: 0,
        requestTimeout: Duration.seconds(13),
        shutdownTimeout: Duration.seconds(2),
        ...options
      }).pipe(Layer.provide(store))
    ),
    (context) => Effect.provide(baseUrl, context)
  )
