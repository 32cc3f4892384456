// A throwaway OpenTelemetry collector in the test process: an OTLP/HTTP JSON receiver on a free port of loopback that
// keeps every body POSTed to /v1/traces, /v1/metrics and /v1/logs, as sent, and reads spans and metrics out of them.
import * as Effect from "effect/Effect"
import * as http from "node:http"

/** The three OTLP/HTTP paths. */
export type Signal = "traces" | "metrics" | "logs"

/** A body as received: its path's signal, its text as sent, and its request headers. */
export interface Received {
  readonly signal: Signal
  readonly text: string
  readonly headers: http.IncomingHttpHeaders
}

/** A span of a received body, its attributes as plain values. */
export interface ReceivedSpan {
  readonly name: string
  readonly kind: number
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly attributes: Readonly<Record<string, unknown>>
  readonly serviceName: unknown
}

/** A metric's data point of a received body: its metric's name, its attributes and its value (or count). */
export interface ReceivedPoint {
  readonly name: string
  readonly attributes: Readonly<Record<string, unknown>>
  readonly value: number | undefined
}

/** A log record of a received body: its level, message and attributes. */
export interface ReceivedLog {
  readonly severityText: string
  readonly body: unknown
  readonly attributes: Readonly<Record<string, unknown>>
}

export interface Receiver {
  /** The base URL, as `--otlp-endpoint` takes it. */
  readonly url: string
  readonly received: () => ReadonlyArray<Received>
  readonly spans: () => ReadonlyArray<ReceivedSpan>
  /** Every data point of every metrics body, oldest first (each body holds every metric's cumulative value). */
  readonly points: () => ReadonlyArray<ReceivedPoint>
  readonly logs: () => ReadonlyArray<ReceivedLog>
  /** Resolves once `check` holds of what was received, polling; rejects after `millis`. */
  readonly waitUntil: (check: (receiver: Receiver) => boolean, what: string, millis?: number) => Promise<void>
  readonly close: () => Promise<void>
}

type KeyValue = { readonly key: string; readonly value: Record<string, any> }

/** An OTLP `AnyValue` as a plain value. */
const plain = (value: Record<string, any>): unknown => {
  if ("stringValue" in value) return value.stringValue
  if ("intValue" in value) return Number(value.intValue)
  if ("doubleValue" in value) return value.doubleValue
  if ("boolValue" in value) return value.boolValue
  if ("arrayValue" in value) return (value.arrayValue.values ?? []).map(plain)
  return value
}

const attributesOf = (list: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, plain(value)]))

const spansOf = (body: any): Array<ReceivedSpan> =>
  (body.resourceSpans ?? []).flatMap((resource: any) => {
    const serviceName = attributesOf(resource.resource?.attributes)["service.name"]
    return (resource.scopeSpans ?? []).flatMap((scope: any) =>
      (scope.spans ?? []).map((span: any): ReceivedSpan => ({
        name: span.name,
        kind: span.kind,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId,
        attributes: attributesOf(span.attributes),
        serviceName
      }))
    )
  })

const pointValue = (point: any): number | undefined =>
  point.asInt !== undefined
    ? Number(point.asInt)
    : point.asDouble ?? (point.count === undefined ? undefined : Number(point.count))

const pointsOf = (body: any): Array<ReceivedPoint> =>
  (body.resourceMetrics ?? []).flatMap((resource: any) =>
    (resource.scopeMetrics ?? []).flatMap((scope: any) =>
      (scope.metrics ?? []).flatMap((metric: any) =>
        (metric.sum ?? metric.gauge ?? metric.histogram ?? { dataPoints: [] }).dataPoints.map(
          (point: any): ReceivedPoint => ({
            name: metric.name,
            attributes: attributesOf(point.attributes),
            value: pointValue(point)
          })
        )
      )
    )
  )

const logsOf = (body: any): Array<ReceivedLog> =>
  (body.resourceLogs ?? []).flatMap((resource: any) =>
    (resource.scopeLogs ?? []).flatMap((scope: any) =>
      (scope.logRecords ?? []).map((record: any): ReceivedLog => ({
        severityText: record.severityText,
        body: record.body === undefined ? undefined : plain(record.body),
        attributes: attributesOf(record.attributes)
      }))
    )
  )

/** Starts a receiver on a free port of loopback. */
export const start = (): Promise<Receiver> =>
  new Promise((resolve) => {
    const received: Array<Received> = []
    const server = http.createServer((request, response) => {
      let text = ""
      request.setEncoding("utf8")
      request.on("data", (chunk: string) => (text += chunk))
      request.on("end", () => {
        const signal = /^\/v1\/(traces|metrics|logs)$/.exec(request.url ?? "")?.[1] as Signal | undefined
        if (request.method !== "POST" || signal === undefined) {
          response.writeHead(404).end()
          return
        }
        received.push({ signal, text, headers: request.headers })
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      const of = (signal: Signal) =>
        received.filter((body) => body.signal === signal).map((body) => JSON.parse(body.text))
      const receiver: Receiver = {
        url: `http://127.0.0.1:${port}`,
        received: () => received,
        spans: () => of("traces").flatMap(spansOf),
        points: () => of("metrics").flatMap(pointsOf),
        logs: () => of("logs").flatMap(logsOf),
        waitUntil: async (check, what, millis = 20_000) => {
          const deadline = Date.now() + millis
          while (!check(receiver)) {
            if (Date.now() > deadline) {
              const signals = received.map((body) => body.signal).join(", ")
              const spans = receiver.spans().map((span) => `${span.name} ${span.attributes["url.path"] ?? ""}`)
              throw new Error(
                `the receiver waited ${millis} ms for ${what}; it received ${signals}, spans: ${spans.join("; ")}`
              )
            }
            await new Promise((done) => setTimeout(done, 25))
          }
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      }
      resolve(receiver)
    })
  })

/** A receiver for the scope: closed with it. */
export const scoped = Effect.acquireRelease(
  Effect.promise(start),
  (receiver) => Effect.promise(receiver.close)
)
