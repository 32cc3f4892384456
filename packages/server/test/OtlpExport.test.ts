// OTLP export of the service, against a throwaway collector in the test process: provided to Server.layer, every
// request has its server span and every append its store span, metrics and log lines arrive, and no body the
// collector receives holds event data or the token; without it nothing is sent; a collector that cannot be reached
// neither blocks nor fails the service, and the layer's release is bounded.
import { EventStore } from "@concord/core"
import { OtlpExport, Server } from "@concord/server"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, Option, Redacted, Tracer } from "effect"
import * as net from "node:net"
import * as otlpExport from "../src/internal/otlpExport.js"
import * as otlpReceiver from "./support/otlpReceiver.js"

/** In every event's data and metadata: no body the collector receives may hold it. */
const marker = "MARKER-5f3a9c-event-data"
const token = "otlp-test-token-SECRET-0123456789"
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }

/** A port free a moment ago: Server.layer says its address only in a printed line. */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

/** The service over the memory store, with `exported` provided when given, logging from debug on; its base URL. */
const serve = (
  exported: Layer.Layer<never, OtlpExport.InvalidEndpoint | OtlpExport.InvalidTraceRatio> | undefined
) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const service = Server.layer({ port, token: Redacted.make(token) }).pipe(
      Layer.provide(EventStore.layerMemory())
    )
    yield* Layer.build(exported === undefined ? service : service.pipe(Layer.provide(exported)))
    return `http://127.0.0.1:${port}`
  }).pipe(
    // A line per request, which every fiber of the service inherits.
    Logger.withMinimumLogLevel(LogLevel.Debug)
  )

const post = (url: string, stream: string, body: unknown, extra: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/streams/${stream}/events`, {
      method: "POST",
      headers: { ...headers, ...extra },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    return { status: response.status, text: await response.text() }
  })

const event = (type: unknown = "Noted") => ({ type, data: { note: marker }, metadata: { by: marker } })

/**
 * The requests of the scenario, each answered as expected: two appends, a conflict, three bad bodies (one whose
 * refusal quotes the metadata) and a read.
 */
const scenario = (url: string, stream: string) =>
  Effect.gen(function*() {
    expect((yield* post(url, stream, { expectedVersion: "any", events: [event()] })).status).toBe(200)
    expect((yield* post(url, stream, { expectedVersion: 1, events: [event(), event()] })).status).toBe(200)
    const conflict = yield* post(url, stream, { expectedVersion: 0, events: [event()] })
    expect(conflict.status).toBe(409)
    // The answer holds the committed events: the span of the request that got it must not.
    expect(conflict.text).toContain(marker)
    expect((yield* post(url, stream, { expectedVersion: "any", events: [event(7)] })).status).toBe(400)
    const quoted = yield* post(url, stream, {
      expectedVersion: "any",
      events: [{ type: "T", data: {}, metadata: marker }]
    })
    expect(quoted.status).toBe(400)
    expect(quoted.text).toContain(marker)
    expect((yield* post(url, stream, `{"expectedVersion":"any","events":[{"type":"T","data":"${marker}"`)).status)
      .toBe(400)
    const read = yield* Effect.promise(() => fetch(`${url}/streams/${stream}/events`, { headers }))
    expect(read.status).toBe(200)
    expect(yield* Effect.promise(() => read.text())).toContain(marker)
    return 7
  })

const serverSpansOf = (receiver: otlpReceiver.Receiver, stream: string) =>
  receiver.spans().filter((span) => span.kind === 2 && span.attributes["url.path"] === `/streams/${stream}/events`)

describe("OtlpExport", () => {
  it.scopedLive(
    "sends a server span per request, a store span per append inside it, metrics and log lines, and never event data or the token",
    () =>
      Effect.gen(function*() {
        const receiver = yield* otlpReceiver.scoped
        const stream = "otlp-on"
        const requests = yield* Effect.scoped(Effect.gen(function*() {
          const url = yield* serve(OtlpExport.layer({ endpoint: receiver.url, exportInterval: "50 millis" }))
          const requests = yield* scenario(url, stream)
          yield* Effect.promise(() =>
            receiver.waitUntil(
              (r) =>
                serverSpansOf(r, stream).length === requests &&
                r.points().some((point) => point.name.startsWith("concord_")) &&
                r.logs().some((log) => log.body === "conflict" && log.attributes.stream === stream),
              "the scenario's spans, metrics and log lines"
            )
          )
          return requests
        }))

        const servers = serverSpansOf(receiver, stream)
        expect(servers.map((span) => span.attributes["http.response.status_code"]).sort()).toEqual(
          [200, 200, 200, 400, 400, 400, 409]
        )
        for (const span of servers) expect(span.serviceName).toBe("concord")
        // The platform's spans (of the requests whose bodies it decodes, and of the read) record the headers, the token
        // redacted by the platform whichever tracer is installed; the short way's record none.
        const withHeaders = servers.filter((span) => "http.request.header.authorization" in span.attributes)
        expect(withHeaders).toHaveLength(4)
        for (const span of withHeaders) expect(span.attributes["http.request.header.authorization"]).toBe("<redacted>")
        const serverIds = new Set(servers.map((span) => span.spanId))

        // The service's log lines, the debug ones included: the level of the service's fibers holds for the export.
        expect(receiver.logs().filter((log) => log.body === "request" && log.attributes.route !== undefined).length)
          .toBeGreaterThanOrEqual(requests)

        // The store's own spans, each inside its append's: ids, versions, counts and outcome.
        const stores = receiver.spans().filter((span) =>
          span.name === "concord.store.append" && span.attributes["concord.stream_id"] === stream
        )
        expect(
          stores.map((span) => span.attributes).sort((a, b) =>
            String(a["concord.outcome"]).localeCompare(String(b["concord.outcome"]))
          )
        )
          .toEqual([
            {
              "concord.stream_id": stream,
              "concord.expected_version": "any",
              "concord.events": 1,
              "concord.actual_version": 1,
              "concord.rebased_over": 0,
              "concord.outcome": "accepted"
            },
            {
              "concord.stream_id": stream,
              "concord.expected_version": 1,
              "concord.events": 2,
              "concord.actual_version": 3,
              "concord.rebased_over": 0,
              "concord.outcome": "accepted"
            },
            {
              "concord.stream_id": stream,
              "concord.expected_version": 0,
              "concord.events": 1,
              "concord.actual_version": 3,
              "concord.conflict_pairs": 3,
              "concord.outcome": "conflict",
              "span.label": expect.anything(),
              "status.interrupted": true
            }
          ])
        // One per append that reached the store, each a child of its request's server span.
        for (const span of stores) expect(serverIds.has(span.parentSpanId!)).toBe(true)

        const bodies = receiver.received()
        expect(new Set(bodies.map((body) => body.signal))).toEqual(new Set(["traces", "metrics", "logs"]))
        for (const body of bodies) {
          expect(body.text, body.signal).not.toContain(marker)
          expect(body.text).not.toContain(token)
          expect(body.text).not.toContain("SECRET")
        }
      }),
    60_000
  )

  it.scopedLive("sends nothing without the layer", () =>
    Effect.gen(function*() {
      const receiver = yield* otlpReceiver.scoped
      yield* Effect.scoped(Effect.gen(function*() {
        const url = yield* serve(undefined)
        yield* scenario(url, "otlp-off")
        // Several export intervals of the test above.
        yield* Effect.sleep("300 millis")
      }))
      expect(receiver.received()).toEqual([])
    }), 30_000)

  it.scopedLive("sends a failed span's error tag, not its message", () =>
    Effect.gen(function*() {
      const receiver = yield* otlpReceiver.scoped
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(OtlpExport.layer({ endpoint: receiver.url, exportInterval: "50 millis" }))
        const failing = Effect.fail({ _tag: "Refused", message: `quoting ${marker}` }).pipe(
          Effect.withSpan("refusal"),
          Effect.flip
        )
        const dying = Effect.die(new TypeError(`Unexpected token in ${marker}`)).pipe(
          Effect.withSpan("defect"),
          Effect.sandbox,
          Effect.flip
        )
        yield* Effect.all([failing, dying])
        yield* Effect.promise(() => receiver.waitUntil((r) => r.spans().length >= 2, "both spans"))
      }))
      const traces = receiver.received().filter((body) => body.signal === "traces").map((body) => body.text).join("")
      expect(traces).toContain(`"exception.type","value":{"stringValue":"Refused"}`)
      expect(traces).toContain(`"exception.type","value":{"stringValue":"TypeError"}`)
      expect(traces).not.toContain(marker)
    }), 30_000)

  it.scopedLive(
    "sends a log line's errors and objects by their tags, as records and span events; other loggers get them whole",
    () =>
      Effect.gen(function*() {
        const receiver = yield* otlpReceiver.scoped
        const seen: Array<unknown> = []
        const failure = new Error(`disk full while writing ${marker}`)
        failure.name = "SqliteError"
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Layer.build(OtlpExport.layer({ endpoint: receiver.url, exportInterval: "50 millis" }))
          yield* Effect.logError("store failure: append", failure, { data: marker }, 3).pipe(
            Effect.annotateLogs({ stream: "s-1", request: { body: marker } }),
            Effect.withSpan("failing"),
            Logger.withMinimumLogLevel(LogLevel.Debug),
            Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => seen.push(message))))
          )
          yield* Effect.promise(() =>
            receiver.waitUntil((r) => r.logs().length > 0 && r.spans().length > 0, "the log line and its span")
          )
        }))
        // Where else the line goes, it is whole.
        expect(seen).toEqual([["store failure: append", failure, { data: marker }, 3]])
        const [log] = receiver.logs().filter((record) => record.severityText === "ERROR")
        expect(log!.body).toEqual(["store failure: append", "SqliteError", "object", 3])
        expect(log!.attributes).toMatchObject({ stream: "s-1", request: "object" })
        const traces = receiver.received().filter((body) => body.signal === "traces").map((body) => body.text).join("")
        expect(traces).toContain("store failure: append")
        for (const body of receiver.received()) expect(body.text, body.signal).not.toContain(marker)
      }),
    30_000
  )

  it.scopedLive("names the service and sends the headers given", () =>
    Effect.gen(function*() {
      const receiver = yield* otlpReceiver.scoped
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(OtlpExport.layer({
          endpoint: `${receiver.url}/`,
          serviceName: "concord-eu-1",
          headers: { "x-collector-key": "key-1" },
          exportInterval: "50 millis"
        }))
        yield* Effect.withSpan(Effect.void, "named")
        yield* Effect.promise(() => receiver.waitUntil((r) => r.spans().length > 0, "a span"))
      }))
      expect(receiver.spans()[0]!.serviceName).toBe("concord-eu-1")
      expect(receiver.received()[0]!.headers["x-collector-key"]).toBe("key-1")
    }), 30_000)

  it.scopedLive("answers appends while the collector cannot be reached, and is released", () =>
    Effect.gen(function*() {
      const closed = yield* freePort
      yield* Effect.scoped(Effect.gen(function*() {
        const url = yield* serve(OtlpExport.layer({
          endpoint: `http://127.0.0.1:${closed}`,
          exportInterval: "20 millis",
          shutdownTimeout: "200 millis"
        }))
        for (let i = 0; i < 20; i++) {
          expect((yield* post(url, "otlp-unreachable", { expectedVersion: "any", events: [event()] })).status)
            .toBe(200)
          yield* Effect.sleep("10 millis")
        }
      }))
    }), 30_000)

  it.scopedLive("is released within its bound when the collector never answers", () =>
    Effect.gen(function*() {
      // Takes connections and requests, and never answers.
      const sockets = new Set<net.Socket>()
      const silent = net.createServer((socket) => sockets.add(socket))
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))),
        () =>
          Effect.promise(() =>
            new Promise<void>((resolve) => {
              for (const socket of sockets) socket.destroy()
              silent.close(() => resolve())
            })
          )
      )
      const { port } = silent.address() as net.AddressInfo
      yield* Effect.scoped(Effect.gen(function*() {
        const url = yield* serve(OtlpExport.layer({
          endpoint: `http://127.0.0.1:${port}`,
          exportInterval: "1 hour",
          shutdownTimeout: "300 millis"
        }))
        expect((yield* post(url, "otlp-silent", { expectedVersion: "any", events: [event()] })).status).toBe(200)
      }))
      // The release sent the span waiting, and returned without an answer.
      expect(sockets.size).toBeGreaterThan(0)
    }), 30_000)

  it.effect("refuses an endpoint that is no http: or https: URL, or has credentials, a query or a fragment", () =>
    Effect.gen(function*() {
      const refusals = [
        ["localhost:4318", "http: or https: URL"],
        ["ftp://collector", "http: or https: URL"],
        ["", "http: or https: URL"],
        ["http://user:SECRET@collector:4318", "no credentials"],
        ["https://SECRET@collector", "no credentials"],
        ["http://collector:4318/?key=SECRET", "no query"],
        ["http://collector:4318?", "no query"],
        ["http://collector:4318/otlp#SECRET", "no query (?...) or fragment"]
      ] as const
      for (const [endpoint, expected] of refusals) {
        const error = yield* Effect.flip(Effect.scoped(Layer.build(OtlpExport.layer({ endpoint }))))
        expect(error._tag, endpoint).toBe("InvalidEndpoint")
        expect(error.message, endpoint).toContain(expected)
        // Shown without what may be a credential.
        expect(`${error.message} ${error._tag === "InvalidEndpoint" ? error.endpoint : ""}`).not.toContain("SECRET")
      }
      expect(OtlpExport.endpointProblem("https://collector.example:4318/otlp/")).toBeUndefined()
    }))
})

/** The spans a tracer was asked for, made by Effect's own tracer. */
const recording = () => {
  const names: Array<string> = []
  const native = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (name, ...rest) => (names.push(name), native.span(name, ...rest)),
    context: (f) => f()
  })
  return { names, tracer }
}

/** The spans of a root span `root` and its child `child`, under `tracer`, below `parent` when one is given. */
const rootAndChild = (tracer: Tracer.Tracer, parent?: Tracer.AnySpan) =>
  Effect.gen(function*() {
    const root = yield* Effect.currentSpan
    const child = yield* Effect.withSpan(Effect.currentSpan, "child")
    return { root, child }
  }).pipe(
    Effect.withSpan("root", parent === undefined ? {} : { parent }),
    Effect.withTracer(tracer),
    Effect.orDie
  )

const incoming = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }

describe("OtlpExport's trace ratio", () => {
  it.effect("samples a root span by the ratio, and every other span as its parent", () =>
    Effect.gen(function*() {
      const never = recording()
      const unsampled = yield* rootAndChild(otlpExport.withTraceRatio(never.tracer, 0))
      expect(never.names).toEqual([])
      expect([unsampled.root.sampled, unsampled.child.sampled]).toEqual([false, false])
      expect(unsampled.root.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(unsampled.child.traceId).toBe(unsampled.root.traceId)
      expect(unsampled.root.spanId).toMatch(/^[0-9a-f]{16}$/)
      expect(unsampled.child.spanId).not.toBe(unsampled.root.spanId)
      expect(Option.map(unsampled.child.parent, (span) => span.spanId)).toEqual(Option.some(unsampled.root.spanId))
      // Ended once, as Effect ends a span.
      expect(unsampled.child.status._tag).toBe("Ended")

      const always = recording()
      const sampled = yield* rootAndChild(otlpExport.withTraceRatio(always.tracer, 1))
      expect(always.names).toEqual(["root", "child"])
      expect(sampled.child.traceId).toBe(sampled.root.traceId)

      // A caller's decision holds whatever the ratio.
      const asked = recording()
      const continued = yield* rootAndChild(
        otlpExport.withTraceRatio(asked.tracer, 0),
        Tracer.externalSpan({ ...incoming, sampled: true })
      )
      expect(asked.names).toEqual(["root", "child"])
      expect(continued.child.traceId).toBe(incoming.traceId)
      const refused = recording()
      const declined = yield* rootAndChild(
        otlpExport.withTraceRatio(refused.tracer, 1),
        Tracer.externalSpan({ ...incoming, sampled: false })
      )
      expect(refused.names).toEqual([])
      expect([declined.root.traceId, declined.child.traceId]).toEqual([incoming.traceId, incoming.traceId])
    }))

  it.effect("refuses a ratio that is no number from 0 to 1", () =>
    Effect.gen(function*() {
      for (const traceRatio of [-0.1, 1.5, Number.NaN, Infinity]) {
        const error = yield* Effect.flip(
          Effect.scoped(Layer.build(OtlpExport.layer({ endpoint: "http://127.0.0.1:4318", traceRatio })))
        )
        expect(error._tag).toBe("InvalidTraceRatio")
        expect(error.message).toContain("from 0 to 1")
      }
    }))

  /**
   * A service exporting at `traceRatio` that answered `requests` requests, appends and reads in turn, each with
   * `extra` headers; the collector, once the export was released (every span sent).
   */
  const tracedAt = (traceRatio: number, stream: string, requests: number, extra: Record<string, string> = {}) =>
    Effect.gen(function*() {
      const receiver = yield* otlpReceiver.scoped
      yield* Effect.scoped(Effect.gen(function*() {
        const url = yield* serve(OtlpExport.layer({ endpoint: receiver.url, exportInterval: "50 millis", traceRatio }))
        for (let i = 0; i < requests; i++) {
          const status = i % 2 === 0
            ? (yield* post(url, stream, { expectedVersion: "any", events: [event()] }, extra)).status
            : (yield* Effect.promise(() =>
              fetch(`${url}/streams/${stream}/events`, { headers: { ...headers, ...extra } })
            )).status
          expect(status).toBe(200)
        }
        // Metrics whatever the ratio.
        yield* Effect.promise(() =>
          receiver.waitUntil(
            (r) => r.points().some((point) => point.name === "concord_appends_total" && (point.value ?? 0) > 0),
            "the appends' metrics"
          )
        )
      }))
      const servers = serverSpansOf(receiver, stream)
      const others = receiver.spans().filter((span) => span.kind !== 2)
      return { receiver, servers, others }
    })

  it.scopedLive("at 0 sends no span but the metrics; at 1 every request's", () =>
    Effect.gen(function*() {
      const none = yield* tracedAt(0, "ratio-0", 20)
      expect(none.receiver.spans()).toEqual([])
      expect(none.receiver.received().filter((body) => body.signal === "traces")).toEqual([])
      const all = yield* tracedAt(1, "ratio-1", 20)
      expect(all.servers).toHaveLength(20)
      expect(all.others.filter((span) => span.name.startsWith("concord.store."))).toHaveLength(20)
    }), 60_000)

  it.scopedLive(
    "at 0.5 sends about half the traces, each whole: no store span without its request's",
    () =>
      Effect.gen(function*() {
        const requests = 200
        const { others, servers } = yield* tracedAt(0.5, "ratio-half", requests)
        expect(servers.length).toBeGreaterThanOrEqual(requests * 0.25)
        expect(servers.length).toBeLessThanOrEqual(requests * 0.75)
        const traces = new Set(servers.map((span) => span.traceId))
        expect(traces.size).toBe(servers.length)
        // Every other span inside a span sent, in a trace whose request's span was sent.
        const sent = new Set([...servers, ...others].map((span) => span.spanId))
        for (const span of others) {
          expect(traces.has(span.traceId), span.name).toBe(true)
          expect(sent.has(span.parentSpanId!), span.name).toBe(true)
        }
        // Each request sent has its store span.
        const stores = others.filter((span) => span.name.startsWith("concord.store."))
        expect(stores).toHaveLength(servers.length)
        expect(new Set(stores.map((span) => span.traceId))).toEqual(traces)
      }),
    60_000
  )

  it.scopedLive(
    "follows an incoming traceparent's flags whatever the ratio, continuing its trace",
    () =>
      Effect.gen(function*() {
        const traceparent = (flags: string) => ({ traceparent: `00-${incoming.traceId}-${incoming.spanId}-${flags}` })
        const declined = yield* tracedAt(1, "traceparent-00", 4, traceparent("00"))
        expect(declined.receiver.spans()).toEqual([])
        const asked = yield* tracedAt(0, "traceparent-01", 4, traceparent("01"))
        expect(asked.servers).toHaveLength(4)
        for (const span of asked.servers) {
          expect(span.traceId).toBe(incoming.traceId)
          expect(span.parentSpanId).toBe(incoming.spanId)
        }
        expect(asked.others.filter((span) => span.name.startsWith("concord.store."))).toHaveLength(4)
        for (const span of asked.others) expect(span.traceId).toBe(incoming.traceId)
      }),
    60_000
  )
})
