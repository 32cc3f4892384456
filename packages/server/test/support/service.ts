// The service as the tests run it: the application over the in-memory store, on a free port of loopback.
import { EventStore } from "@concord/core"
import { Server } from "@concord/server"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"

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
