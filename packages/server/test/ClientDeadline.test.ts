// The typed client's deadline: against a service that accepts connections and never answers, or answers too late,
// every operation of ConcordClient.layerEventStore fails by its `timeout` (an append with AppendTimeout that may have
// committed, reads with a StoreError saying it timed out), the caller is not kept waiting for the abandoned request,
// and its connection is closed. Against the real service, whose request deadline is shorter, the service's answer
// comes first.
import { EventStore, EventStoreError, ExpectedVersion, StreamId } from "@concord/core"
import { ConcordClient, Server } from "@concord/server"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule, Stream } from "effect"
import { createServer } from "node:http"
import * as net from "node:net"

/** A TCP server that reads requests and answers each `delayMs` later with `answer`, or never without one. */
interface RawService {
  readonly url: string
  /** Requests received, and how many of their connections the client has closed. */
  readonly received: () => number
  readonly closed: () => number
  readonly close: () => Promise<void>
}

const rawService = (options: { readonly delayMs?: number; readonly answer?: (request: string) => string }) =>
  new Promise<RawService>((resolve) => {
    let received = 0
    let closed = 0
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      // An HTTP client may open a connection before it has a request for it: only those given one count.
      let request = ""
      let answering = false
      sockets.add(socket)
      socket.on("close", () => {
        if (request !== "") closed++
        sockets.delete(socket)
      })
      socket.on("error", () => {})
      socket.on("data", (chunk) => {
        if (request === "") received++
        request += String(chunk)
        const answer = options.answer
        if (answer !== undefined && !answering && request.includes("\r\n\r\n")) {
          answering = true
          const timer = setTimeout(() => socket.writable && socket.end(answer(request)), options.delayMs ?? 0)
          socket.on("close", () => clearTimeout(timer))
        }
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        received: () => received,
        closed: () => closed,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

/** A JSON 200 answer, closing the connection. */
const ok = (body: unknown) => {
  const json = JSON.stringify(body)
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${
    Buffer.byteLength(json)
  }\r\nconnection: close\r\n\r\n${json}`
}

/** What the late service answers, by endpoint. */
const lateAnswer = (request: string) =>
  request.startsWith("POST")
    ? ok({ streamId: "late", firstVersion: 1, lastVersion: 1, rebasedOver: 0 })
    : request.startsWith("GET /streams/late/events") || request.startsWith("GET /events?")
    ? ok({ events: [] })
    : ok({ streamId: "late", version: 0 })

const storeAt = (options: ConcordClient.Options) =>
  EventStore.EventStore.pipe(
    Effect.provide(ConcordClient.layerEventStore(options).pipe(Layer.provide(FetchHttpClient.layer)))
  )

/** How long `effect` takes, with its outcome. */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.timed(Effect.either(effect)), ([duration, outcome]) => ({
    millis: Duration.toMillis(duration),
    outcome
  }))

const timeoutMillis = 1_000
/** What the test machine may add to a deadline: generous, the machine is shared. */
const margin = 1_500

const stream = StreamId.make("late")
const batch = [{ type: "Noted", data: {} }]

/** Each operation of the store, as an effect whose failure is the store's error. */
const operations = (store: EventStore.Service) => ({
  append: store.append(stream, ExpectedVersion.any, batch),
  read: Stream.runDrain(store.read(stream)),
  version: store.version(stream),
  readAll: Stream.runDrain(store.readAll())
})

/** Fails each operation within the deadline and margin, with the error a timed-out request gives. */
const expectTimeouts = (store: EventStore.Service) =>
  Effect.gen(function*() {
    for (const [name, operation] of Object.entries(operations(store))) {
      const { millis, outcome } = yield* timed(operation as Effect.Effect<unknown, unknown>)
      expect(millis, name).toBeGreaterThanOrEqual(timeoutMillis - 50)
      expect(millis, name).toBeLessThan(timeoutMillis + margin)
      expect(outcome._tag, name).toBe("Left")
      const error = (outcome as { readonly left: unknown }).left
      if (name === "append") {
        expect(EventStoreError.isAppendTimeout(error), String(error)).toBe(true)
        expect(error).toMatchObject({ streamId: "late", timeoutMillis, mayHaveCommitted: true })
      } else {
        expect(EventStoreError.isStoreError(error), `${name}: ${String(error)}`).toBe(true)
        const cause = (error as EventStore.StoreError).cause as { readonly _tag: string; readonly message: string }
        expect(cause._tag, name).toBe("TimedOut")
        expect(cause.message, name).toBe(`the service did not answer within ${timeoutMillis} ms`)
      }
    }
  })

/** Waits until `condition` holds, for at most `millis`. */
const eventually = (condition: () => boolean, millis: number) =>
  Effect.gen(function*() {
    const until = Date.now() + millis
    while (!condition() && Date.now() < until) yield* Effect.sleep("20 millis")
    return condition()
  })

describe("ConcordClient's deadline", () => {
  let silent: RawService
  let late: RawService

  beforeAll(async () => {
    silent = await rawService({})
    late = await rawService({ delayMs: 2_500, answer: lateAnswer })
  })

  afterAll(async () => {
    await silent?.close()
    await late?.close()
  })

  it.live(
    "a service that accepts and never answers: every operation fails by the deadline, its request closed",
    () =>
      Effect.gen(function*() {
        const store = yield* storeAt({ baseUrl: silent.url, timeout: Duration.millis(timeoutMillis) })
        const before = silent.received()
        yield* expectTimeouts(store)
        expect(silent.received() - before).toBe(4)
        // The abandoned requests are interrupted, their connections not left open.
        expect(yield* eventually(() => silent.closed() === silent.received(), 2_000)).toBe(true)
      }),
    30_000
  )

  it.live(
    "a service that answers after the deadline: every operation fails by the deadline, not the answer",
    () =>
      Effect.gen(function*() {
        const store = yield* storeAt({ baseUrl: late.url, timeout: `${timeoutMillis} millis` })
        yield* expectTimeouts(store)
        // With a deadline past its answer, the same service is heard.
        const patient = yield* storeAt({ baseUrl: late.url, timeout: "10 seconds" })
        const { millis, outcome } = yield* timed(patient.version(stream))
        expect(outcome).toMatchObject({ _tag: "Right", right: 0 })
        expect(millis).toBeGreaterThanOrEqual(2_400)
      }),
    30_000
  )

  it.live("the deadline holds for a caller that runs the store uninterruptibly", () =>
    Effect.gen(function*() {
      const store = yield* storeAt({ baseUrl: silent.url, timeout: timeoutMillis })
      const { millis, outcome } = yield* timed(Effect.uninterruptible(store.append(stream, ExpectedVersion.any, batch)))
      expect(millis).toBeLessThan(timeoutMillis + margin)
      expect(outcome).toMatchObject({ _tag: "Left", left: { _tag: "AppendTimeout", mayHaveCommitted: true } })
    }), 30_000)

  it.live(
    "a subscription whose service never answers tries again, each try bounded, and fails by its deadline",
    () =>
      Effect.gen(function*() {
        const store = yield* storeAt({
          baseUrl: silent.url,
          timeout: timeoutMillis,
          reconnectSchedule: Schedule.spaced("100 millis"),
          reconnectDeadline: "500 millis"
        })
        const before = silent.received()
        const { millis, outcome } = yield* timed(Stream.runDrain(store.subscribe()))
        // The first try fails at the deadline, the second after the reconnect deadline has passed: two tries.
        expect(millis).toBeGreaterThanOrEqual(2 * timeoutMillis)
        expect(millis).toBeLessThan(2 * timeoutMillis + 100 + margin)
        expect(silent.received() - before).toBe(2)
        expect(outcome).toMatchObject({
          _tag: "Left",
          left: { _tag: "StoreError", cause: { reason: "the service did not answer", cause: { _tag: "TimedOut" } } }
        })
      }),
    30_000
  )

  it("by default it waits a few seconds past the service's own default request deadline", () => {
    expect(Duration.toMillis(ConcordClient.defaultTimeout)).toBeGreaterThanOrEqual(
      Duration.toMillis(Server.defaultRequestTimeout) + 2_000
    )
  })

  it.live(
    "against the service, whose deadline is shorter, the service's own AppendTimeout comes first",
    () =>
      Effect.gen(function*() {
        // A store whose appends never finish, behind a service that answers at 500 ms.
        const hanging = Layer.effect(
          EventStore.EventStore,
          Effect.map(EventStore.makeMemory(), (memory) => ({ ...memory, append: () => Effect.never }))
        )
        const service = Server.layerApp({ requestTimeout: "500 millis" }).pipe(
          Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
          Layer.provide(hanging)
        )
        yield* Effect.gen(function*() {
          const url = yield* Effect.map(
            HttpServer.HttpServer,
            (server) => server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
          )
          const store = yield* storeAt({ baseUrl: url, timeout: "3 seconds" })
          const { millis, outcome } = yield* timed(store.append(stream, ExpectedVersion.any, batch))
          expect(millis).toBeLessThan(500 + margin)
          expect(outcome).toMatchObject({
            _tag: "Left",
            left: { _tag: "AppendTimeout", streamId: "late", timeoutMillis: 500, mayHaveCommitted: true }
          })
        }).pipe(Effect.provide(service))
      }),
    30_000
  )
})
