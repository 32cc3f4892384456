// The service's subscriptions in the store's gauges: a client of `GET /events/subscribe` counts as one open
// subscription from the first byte of its response to its end, while it catches up with pages of the log as after,
// once it follows the store's own subscription (not as two); and its lag shows while it stops reading.
import { EventStore, ExpectedVersion, StreamId, Telemetry } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schedule } from "effect"
import * as http from "node:http"
import { parse } from "./support/prometheus.js"
import { nodeServiceUrl } from "./support/service.js"

const open = Effect.map(Metric.value(Telemetry.metrics.subscriptionsOpen), (state) => state.value)
const lag = Effect.map(Metric.value(Telemetry.metrics.subscriptionLag), (state) => state.value)

/** Waits until `check` gives a value `until` accepts, for at most 20 s; gives that value. */
const eventually = <A>(check: Effect.Effect<A>, until: (value: A) => boolean) =>
  Effect.repeat(check, { until, schedule: Schedule.spaced("10 millis") }).pipe(
    Effect.timeout("20 seconds"),
    Effect.orDie
  )

/** The service on Node's server over `store`, on a free port of loopback, for the test's scope. */
const serve = (store: EventStore.Service) =>
  nodeServiceUrl({ keepAliveInterval: "200 millis" }, Layer.succeed(EventStore.EventStore, store))

/** `count` events of `size` characters of data each, in appends of 100. */
const fill = (store: EventStore.Service, count: number, size: number) =>
  Effect.forEach(
    Array.from({ length: count / 100 }, (_, i) => i),
    () =>
      store.append(
        StreamId.make("log-1"),
        ExpectedVersion.any,
        Array.from({ length: 100 }, () => ({ type: "E", data: { text: "x".repeat(size) } }))
      ),
    { discard: true }
  )

/** A client of the subscription endpoint over a connection of its own; `stalled` stops reading after the first byte. */
const connect = (url: string, options: { readonly stalled: boolean; readonly query?: string }) => {
  let last: string | undefined
  let tail = ""
  let response: http.IncomingMessage | undefined
  let stalled = options.stalled
  let firstByte!: () => void
  const started = new Promise<void>((resolve) => (firstByte = resolve))
  const request = http.get(`${url}/events/subscribe${options.query ?? ""}`, { agent: false }, (incoming) => {
    response = incoming
    incoming.setEncoding("utf8")
    incoming.on("data", (chunk: string) => {
      firstByte()
      if (stalled) incoming.pause()
      const lines = (tail + chunk).split("\n")
      tail = lines.pop()!
      for (const line of lines) if (line.startsWith("id: ")) last = line.slice(4)
    })
  })
  // Leaving destroys the request: its error is ours.
  request.on("error", () => undefined)
  return {
    started: Effect.promise(() => started),
    last: Effect.sync(() => last),
    resume: Effect.sync(() => {
      stalled = false
      response?.resume()
    }),
    leave: Effect.sync(() => request.destroy())
  }
}

const scrape = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/metrics`)
    return parse(await response.text())
  })

describe("the service's subscriptions in the metrics", () => {
  it.scopedLive(
    "counts a client catching up from far back once, from its first byte, with its lag while it stops reading",
    () =>
      Effect.gen(function*() {
        const store = yield* EventStore.makeMemory()
        // 6000 events of 8 KB: 48 MB, far more than a connection's buffers hold, so the catch-up stops with the reader.
        yield* fill(store, 6000, 8 * 1024)
        const url = yield* serve(store)
        const before = yield* open
        const client = connect(url, { stalled: true })
        yield* client.started
        expect(yield* open).toBe(before + 1)
        expect((yield* scrape(url)).value("concord_subscriptions_open")).toBe(before + 1)
        // At most 4 pages fit in the buffers between the service and a reader that stopped: 2000 events behind at least.
        yield* eventually(lag, (value) => value >= 2000)
        // More commits while it reads nothing: it falls further behind, still one open subscription.
        yield* fill(store, 1000, 10)
        yield* eventually(lag, (value) => value >= 3000)
        expect(yield* open).toBe(before + 1)
        // It reads again: it catches up and follows the store's subscription, counted as the same subscription.
        yield* client.resume
        yield* eventually(client.last, (id) => id === "7000")
        yield* eventually(lag, (value) => value === 0)
        yield* fill(store, 100, 10)
        yield* eventually(client.last, (id) => id === "7100")
        expect(yield* open).toBe(before + 1)
        expect((yield* scrape(url)).value("concord_subscription_lag_events")).toBe(0)
        // It leaves: no longer open.
        yield* client.leave
        yield* eventually(open, (value) => value === before)
        expect(yield* lag).toBe(0)
      }),
    60_000
  )

  it.scopedLive("counts each client once, caught up or from the log's end, until each leaves", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* fill(store, 300, 10)
      const url = yield* serve(store)
      const before = yield* open
      const reader = connect(url, { stalled: false })
      yield* reader.started
      yield* eventually(reader.last, (id) => id === "300")
      const atEnd = connect(url, { stalled: false, query: "?after=end" })
      yield* atEnd.started
      expect(yield* open).toBe(before + 2)
      yield* fill(store, 100, 10)
      yield* eventually(reader.last, (id) => id === "400")
      yield* eventually(atEnd.last, (id) => id === "400")
      expect(yield* open).toBe(before + 2)
      yield* reader.leave
      yield* eventually(open, (value) => value === before + 1)
      yield* atEnd.leave
      yield* eventually(open, (value) => value === before)
    }))
})
