// A "__proto__" key is an own property in JSON (JSON.parse makes it one), and the service keeps it as such in data and
// metadata alike: stored, read back and sent as it came.
import { EventStore } from "@concord/core"
import { Server } from "@concord/server"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"

const baseUrl = Effect.map(
  HttpServer.HttpServer,
  (server) => server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

const service = Server.layerApp().pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(EventStore.layerMemory())
)

describe("__proto__ keys over HTTP", () => {
  layer(service)((it) => {
    it.effect("in data and in metadata are stored and read back as own keys", () =>
      Effect.gen(function*() {
        const url = `${yield* baseUrl}/streams/proto-1/events`
        // Written by hand: JSON.stringify of an object literal would not carry a __proto__ key.
        const body = `{"expectedVersion":0,"events":[{"type":"Noted","data":{"__proto__":{"d":1}},` +
          `"metadata":{"__proto__":{"m":1},"by":"joe"}}]}`
        const posted = yield* Effect.promise(() =>
          fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body })
        )
        expect(posted.status).toBe(200)
        const text = yield* Effect.promise(() => fetch(url).then((response) => response.text()))
        expect(text).toContain(`"data":{"__proto__":{"d":1}}`)
        expect(text).toContain(`"metadata":{"__proto__":{"m":1},"by":"joe"}`)
      }))
  })
})
