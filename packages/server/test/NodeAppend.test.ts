// The short way of appends on Node's server keeps the general path's rules where the equivalence test cannot reach:
// the deadline (a store that never answers, a body that never arrives in full), a client that leaves before its body
// ends, and a tracer in place, for which it makes each request's server span itself (the platform's spans, of the
// requests it answers, redact the headers that carry credentials).
import { EventStore } from "@concord/core"
import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Tracer } from "effect"
import * as net from "node:net"
import * as nodeServer from "../src/internal/nodeServer.js"

const requestTimeoutMillis = 500

/** A store whose appends are counted, and never answered while `frozen.append`. */
const frozen = { append: false, calls: 0 }

const counted = Layer.effect(
  EventStore.EventStore,
  Effect.map(EventStore.EventStore, (store): EventStore.Service => ({
    ...store,
    append: (...args) =>
      Effect.suspend(() => {
        frozen.calls++
        return frozen.append ? Effect.uninterruptible(Effect.never) : store.append(...args)
      })
  }))
).pipe(Layer.provideMerge(EventStore.layerMemory()))

const service = nodeServer.layer({
  host: "127.0.0.1",
  port: 0,
  requestTimeout: Duration.millis(requestTimeoutMillis),
  shutdownTimeout: Duration.seconds(1)
}).pipe(Layer.provide(counted))

const portOf = <E>(layer: Layer.Layer<HttpServer.HttpServer, E>) =>
  Effect.map(Layer.build(layer), (context) => {
    const { address } = Context.get(context, HttpServer.HttpServer)
    return address._tag === "TcpAddress" ? address.port : 0
  })

/** Raw bytes on a connection of their own; resolves with what came back once the service closes it. */
const exchange = (port: number, bytes: string, options: { readonly leaveAfterMillis?: number } = {}) =>
  Effect.promise(() =>
    new Promise<{ readonly text: string; readonly closedAfter: number }>((resolve) => {
      const started = Date.now()
      let text = ""
      const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes))
      socket.on("data", (chunk) => (text += String(chunk)))
      socket.on("error", () => {})
      socket.on("close", () => resolve({ text, closedAfter: Date.now() - started }))
      setTimeout(() => socket.destroy(), options.leaveAfterMillis ?? 10_000)
    })
  )

const post = (stream: string, body: string, declared = body.length) =>
  `POST /streams/${stream}/events HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n` +
  `content-length: ${declared}\r\n\r\n${body}`

/** A tracer that makes Effect's own spans and keeps each, to read their names, attributes and parents. */
const recordingTracer = () => {
  const spans: Array<Tracer.Span> = []
  const recording = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = Effect.runSync(
        Effect.map(Effect.tracer, (native) => native.span(name, parent, context, links, startTime, kind, options))
      )
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { recording, spans }
}

const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))

const append = JSON.stringify({ expectedVersion: "any", events: [{ type: "T", data: {} }] })

describe("the short way of appends on Node's server", () => {
  it.live("answers an append the store never finishes with 503 AppendTimeout at the deadline, maybe committed", () =>
    Effect.gen(function*() {
      const port = yield* portOf(service)
      frozen.append = true
      const calls = frozen.calls
      const outcome = yield* exchange(port, post("stuck", append))
      frozen.append = false
      expect(outcome.text).toMatch(/^HTTP\/1\.1 503 /)
      expect(outcome.text.toLowerCase()).toContain("connection: close")
      expect(bodyOf(outcome.text)).toEqual({
        _tag: "AppendTimeout",
        streamId: "stuck",
        timeoutMillis: requestTimeoutMillis,
        mayHaveCommitted: true
      })
      expect(frozen.calls).toBe(calls + 1)
      expect(outcome.closedAfter).toBeGreaterThanOrEqual(requestTimeoutMillis - 50)
    }).pipe(Effect.scoped))

  it.live("answers a body shorter than its Content-Length at the deadline, not committed, and never calls the store", () =>
    Effect.gen(function*() {
      const port = yield* portOf(service)
      const calls = frozen.calls
      const outcome = yield* exchange(port, post("half", append.slice(0, 20), append.length))
      expect(outcome.text).toMatch(/^HTTP\/1\.1 503 /)
      expect(outcome.text.toLowerCase()).toContain("connection: close")
      expect(bodyOf(outcome.text)).toEqual({
        _tag: "AppendTimeout",
        streamId: "half",
        timeoutMillis: requestTimeoutMillis,
        mayHaveCommitted: false
      })
      // Its body, if it came now, would find the answer given.
      yield* Effect.sleep(Duration.millis(100))
      expect(frozen.calls).toBe(calls)
    }).pipe(Effect.scoped))

  it.live("does nothing more for a client that leaves before its body ends: the store is never called", () =>
    Effect.gen(function*() {
      const port = yield* portOf(service)
      const calls = frozen.calls
      const outcome = yield* exchange(port, post("left", append.slice(0, 20), append.length), { leaveAfterMillis: 100 })
      expect(outcome.text).toBe("")
      yield* Effect.sleep(Duration.millis(requestTimeoutMillis + 200))
      expect(frozen.calls).toBe(calls)
      // The service goes on answering.
      const next = yield* exchange(port, post("after", append))
      expect(next.text).toMatch(/^HTTP\/1\.1 200 /)
      expect(frozen.calls).toBe(calls + 1)
    }).pipe(Effect.scoped))

  it.live("answers appends itself where a tracer is in place, in a server span of its own with the store's inside", () =>
    Effect.gen(function*() {
      const { recording, spans } = recordingTracer()
      const port = yield* portOf(service.pipe(Layer.provide(Layer.setTracer(recording))))
      const outcome = yield* exchange(port, post("traced", append))
      expect(outcome.text).toMatch(/^HTTP\/1\.1 200 /)
      const server = spans.find((span) => span.name === "http.server POST")!
      expect(server.kind).toBe("server")
      // Not the platform's span, which records every header.
      expect(Object.fromEntries(server.attributes)).toEqual({
        "http.request.method": "POST",
        "url.path": "/streams/traced/events",
        "http.route": "/streams/{streamId}/events",
        "http.response.status_code": 200
      })
      expect(server.status._tag).toBe("Ended")
      const store = spans.find((span) => span.name === "concord.store.append")!
      expect(store.parent._tag === "Some" && store.parent.value.spanId).toBe(server.spanId)
    }).pipe(Effect.scoped))

  it.live("leaves the platform's spans of other requests with the headers that carry credentials redacted", () =>
    Effect.gen(function*() {
      const { recording, spans } = recordingTracer()
      const port = yield* portOf(service.pipe(Layer.provide(Layer.setTracer(recording))))
      const credentials = ["x-auth-token", "proxy-authorization", "x-access-token", "authorization", "cookie"]
      const outcome = yield* exchange(
        port,
        `GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n` +
          credentials.map((name) => `${name}: secret-${name}\r\n`).join("") + "\r\n"
      )
      expect(outcome.text).toMatch(/^HTTP\/1\.1 200 /)
      const server = spans.find((span) => span.name === "http.server GET")!
      const attributes = Object.fromEntries(server.attributes)
      for (const name of credentials) expect(attributes[`http.request.header.${name}`]).toBe("<redacted>")
      expect(JSON.stringify(attributes)).not.toContain("secret-")
    }).pipe(Effect.scoped))
})
