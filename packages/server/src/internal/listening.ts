import { HttpServer } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as logOutput from "./logOutput.js"

/**
 * Prints the address the service listens on and its API page once it is ready: the line scripts wait for.
 *
 * @internal
 */
export const layer: Layer.Layer<never, never, HttpServer.HttpServer> = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const address = server.address._tag === "TcpAddress"
    ? `http://${
      server.address.hostname.includes(":") ? `[${server.address.hostname}]` : server.address.hostname
    }:${server.address.port}`
    : `unix:${server.address.path}`
  // After the lines logged before it, which may be waiting to be written together, and in their format (see logOutput).
  yield* logOutput.announce(`Concord is listening on ${address} (API docs: ${address}/docs)`)
}))
