// The service answers every request by its deadline, whatever its store or its client does: an append a store never
// finishes gets a 503 AppendTimeout, a read a 503 ServiceUnavailable, a body that never arrives in full a 503 and a
// closed connection, the health check a 503 within a second; the abandoned work holds nothing up.
import { EventStore, StreamId } from "@concord/core"
import { Server } from "@concord/server"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import * as fs from "node:fs"
import { createServer } from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as deadline from "../src/internal/deadline.js"
import { runConcord, startServer } from "./support/server.js"

/** What the store behind the service does not answer now, as a frozen database would not. */
const frozen = {
  append: false,
  version: false,
  reads: false,
  appendDelay: 0,
  readAllCalls: 0,
  readAllFrozenFrom: Infinity
}

/** Never answers, and cannot be interrupted: a store call stuck on a database that stopped. */
const hang = Effect.uninterruptible(Effect.never)

const freezable = Layer.effect(
  EventStore.EventStore,
  Effect.map(EventStore.EventStore, (store): EventStore.Service => ({
    ...store,
    append: (...args) =>
      frozen.append
        ? hang
        : frozen.appendDelay > 0
        ? Effect.uninterruptible(Effect.zipRight(Effect.sleep(frozen.appendDelay), store.append(...args)))
        : store.append(...args),
    version: (streamId) => frozen.version ? hang : store.version(streamId),
    read: (streamId, options) => frozen.reads ? Stream.fromEffect(hang) : store.read(streamId, options),
    readAll: (options) =>
      frozen.reads || ++frozen.readAllCalls >= frozen.readAllFrozenFrom
        ? Stream.fromEffect(hang)
        : store.readAll(options)
  }))
).pipe(Layer.provideMerge(EventStore.layerMemory()))

const requestTimeoutMillis = 600

const service = Server.layerApp({ requestTimeout: `${requestTimeoutMillis} millis` }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(freezable)
)

const address = Effect.map(
  HttpServer.HttpServer,
  (server) => server.address._tag === "TcpAddress" ? server.address.port : 0
)

/** A request sent as raw bytes; resolves with what came back and when, once the service closes the connection. */
const raw = (port: number, bytes: string) =>
  Effect.promise(() =>
    new Promise<{ readonly text: string; readonly answeredAfter: number; readonly closedAfter: number }>((resolve) => {
      const started = Date.now()
      let text = ""
      let answeredAfter = -1
      const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes))
      socket.on("data", (chunk) => {
        if (answeredAfter < 0) answeredAfter = Date.now() - started
        text += String(chunk)
      })
      socket.on("error", () => {})
      socket.on("close", () => resolve({ text, answeredAfter, closedAfter: Date.now() - started }))
      // Holds the connection open from its side: only the service can end it.
      setTimeout(() => socket.destroy(), 20_000)
    })
  )

const timed = <A>(promise: () => Promise<A>) =>
  Effect.promise(async () => {
    const started = Date.now()
    const value = await promise()
    return { value, took: Date.now() - started }
  })

const request = (url: string, init?: RequestInit) =>
  timed(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    return { status: response.status, connection: response.headers.get("connection"), body: JSON.parse(text) }
  })

const appendBody = (events: ReadonlyArray<unknown>) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ expectedVersion: "any", events })
})

/** Generous: these are deadline checks on a shared machine, not speed claims. */
const margin = 2_000
/** The health check's second is the point of it: a slower answer is a failure, give or take a loaded machine. */
const healthMargin = 1_000

const unfrozen = Effect.sync(() =>
  Object.assign(frozen, { append: false, version: false, reads: false, appendDelay: 0, readAllFrozenFrom: Infinity })
)

/** Every order of `steps`. */
const orders = <A>(steps: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> =>
  steps.length === 0 ?
    [[]] :
    steps.flatMap((step, i) => orders([...steps.slice(0, i), ...steps.slice(i + 1)]).map((rest) => [step, ...rest]))

type Step = "body arrives" | "handler resumes" | "store finishes" | "deadline"

/** Lets every fiber that can run do so. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/**
 * An append's request as the service runs it, its steps taken in `order`: its body is read (interruptibly), then its
 * handler runs uninterruptibly and may be held up (a fiber queued behind others) before it calls the store, which
 * takes a while. What it answered, and how often the store was called once it all ended.
 */
const appendIn = (order: ReadonlyArray<Step>, received: boolean) =>
  Effect.gen(function*() {
    const gates = {
      "body arrives": yield* Deferred.make<void>(),
      "handler resumes": yield* Deferred.make<void>(),
      "store finishes": yield* Deferred.make<void>()
    }
    const ended = yield* Deferred.make<void>()
    let storeCalls = 0
    const handler = Effect.zipRight(
      Deferred.await(gates["body arrives"]),
      Effect.uninterruptible(Effect.all([
        Deferred.await(gates["handler resumes"]),
        deadline.callingStore,
        Effect.sync(() => storeCalls++),
        Deferred.await(gates["store finishes"])
      ], { discard: true }))
    ).pipe(Effect.as("answered by the handler"), Effect.ensuring(Deferred.succeed(ended, undefined)))
    const answering = yield* Effect.fork(deadline.withDeadline(
      handler,
      Duration.seconds(1),
      (mayHaveCommitted) => Effect.succeed(`answered at the deadline, mayHaveCommitted: ${mayHaveCommitted}`),
      { interruptAbandoned: () => received }
    ))
    yield* settle
    for (const step of order) {
      yield* step === "deadline" ? TestClock.adjust("1 second") : Deferred.succeed(gates[step], undefined)
      yield* settle
    }
    const answer = yield* Fiber.join(answering)
    yield* Deferred.await(ended)
    return { answer, storeCalls }
  })

describe("the deadline's answer and the store call", () => {
  // Whatever the order of the steps and the deadline, an answer that says nothing was written is true: the store is
  // not called after it, not even by a handler that was already running, or queued to, when the deadline fired.
  for (const received of [true, false]) {
    it.effect(`in every order of the steps${received ? "" : ", the body unfinished at the deadline"}`, () =>
      Effect.gen(function*() {
        const wrong: Array<string> = []
        for (const order of orders<Step>(["body arrives", "handler resumes", "store finishes", "deadline"])) {
          const { answer, storeCalls } = yield* appendIn(order, received)
          const expected = answer.endsWith("mayHaveCommitted: false") ? 0 : 1
          if (storeCalls !== expected) {
            wrong.push(`${order.join(", ")}: ${answer}, the store called ${storeCalls} times`)
          }
        }
        expect(wrong).toEqual([])
      }))
  }
})

describe("request deadlines", () => {
  layer(service, { excludeTestServices: true })((it) => {
    it.effect("an append the store never finishes is answered 503 AppendTimeout by the deadline, maybe committed", () =>
      Effect.gen(function*() {
        const url = `http://127.0.0.1:${yield* address}`
        frozen.append = true
        const { took, value } = yield* request(
          `${url}/streams/deadline-frozen/events`,
          appendBody([{ type: "T", data: {} }])
        )
        yield* unfrozen
        expect(value.status).toBe(503)
        expect(value.body).toEqual({
          _tag: "AppendTimeout",
          streamId: "deadline-frozen",
          timeoutMillis: requestTimeoutMillis,
          mayHaveCommitted: true
        })
        expect(value.connection).toBe("close")
        expect(took).toBeGreaterThanOrEqual(requestTimeoutMillis - 50)
        expect(took).toBeLessThan(requestTimeoutMillis + margin)
        // The abandoned append holds nothing: the next one goes through at once.
        const next = yield* request(`${url}/streams/deadline-frozen/events`, appendBody([{ type: "T", data: {} }]))
        expect(next.value.status).toBe(200)
      }))

    it.effect("an append is one by the router's rules: with a trailing slash, percent-encoded, its case kept", () =>
      Effect.gen(function*() {
        const url = `http://127.0.0.1:${yield* address}`
        frozen.append = true
        const answers = yield* Effect.all([
          request(`${url}/streams/deadline-slash/events/`, appendBody([{ type: "T", data: {} }])),
          request(`${url}/streams/%C4%B0-Deadline-Case/events`, appendBody([{ type: "T", data: {} }])),
          request(`${url}/%73treams/deadline%2Dencoded/events/?from=1`, appendBody([{ type: "T", data: {} }]))
        ], { concurrency: "unbounded" })
        yield* unfrozen
        expect(answers.map(({ value }) => [value.status, value.body])).toEqual(
          ["deadline-slash", "İ-Deadline-Case", "deadline-encoded"].map((streamId) => [503, {
            _tag: "AppendTimeout",
            streamId,
            timeoutMillis: requestTimeoutMillis,
            mayHaveCommitted: true
          }])
        )
      }))

    it.effect(
      "an append that finishes after its deadline was committed: resent with the same ids, it gets its original result",
      () =>
        Effect.gen(function*() {
          const url = `http://127.0.0.1:${yield* address}`
          const events = [{ id: "late-1", type: "T", data: {} }, { id: "late-2", type: "T", data: {} }]
          frozen.appendDelay = requestTimeoutMillis + 600
          const late = yield* request(`${url}/streams/deadline-late/events`, appendBody(events))
          yield* unfrozen
          expect(late.value.status).toBe(503)
          expect(late.value.body).toMatchObject({ _tag: "AppendTimeout", mayHaveCommitted: true })
          // The store call went on in the background and committed.
          const store = yield* EventStore.EventStore
          yield* Effect.sleep("1 second")
          expect(yield* store.version(StreamId.make("deadline-late"))).toBe(2)
          const again = yield* request(`${url}/streams/deadline-late/events`, appendBody(events))
          expect(again.value).toMatchObject({ status: 200, body: { firstVersion: 1, lastVersion: 2 } })
        })
    )

    it.effect("a body shorter than its Content-Length is answered 503 by the deadline, not committed, and its connection closed", () =>
      Effect.gen(function*() {
        const port = yield* address
        const partial = "{\"expectedVersion\":\"any\",\"events\":["
        const outcome = yield* raw(
          port,
          "POST /streams/deadline-half/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
            `content-length: ${partial.length + 100}\r\n\r\n${partial}`
        )
        expect(outcome.text).toMatch(/^HTTP\/1\.1 503 /)
        expect(outcome.text.toLowerCase()).toContain("connection: close")
        expect(JSON.parse(outcome.text.slice(outcome.text.indexOf("\r\n\r\n") + 4))).toEqual({
          _tag: "AppendTimeout",
          streamId: "deadline-half",
          timeoutMillis: requestTimeoutMillis,
          mayHaveCommitted: false
        })
        expect(outcome.answeredAfter).toBeLessThan(requestTimeoutMillis + margin)
        expect(outcome.closedAfter).toBeLessThan(requestTimeoutMillis + margin)
        // Nothing was written, nor is later by the abandoned request.
        yield* Effect.sleep("300 millis")
        const store = yield* EventStore.EventStore
        expect(yield* store.version(StreamId.make("deadline-half"))).toBe(0)
        expect(yield* Stream.runCount(store.read(StreamId.make("deadline-half")))).toBe(0)
      }))

    it.effect("reads the store never answers get 503 ServiceUnavailable by the deadline; a subscription too", () =>
      Effect.gen(function*() {
        const url = `http://127.0.0.1:${yield* address}`
        frozen.reads = true
        frozen.version = true
        const answers = yield* Effect.all([
          request(`${url}/streams/deadline-read/events`),
          request(`${url}/streams/deadline-read`),
          request(`${url}/events`),
          request(`${url}/events/subscribe`)
        ], { concurrency: "unbounded" })
        yield* unfrozen
        for (const { took, value } of answers) {
          expect(value.status).toBe(503)
          expect(value.body).toMatchObject({ _tag: "ServiceUnavailable" })
          expect(took).toBeLessThan(requestTimeoutMillis + margin)
        }
      }))

    it.effect("a subscription whose catch-up the store stops answering midway ends by the deadline", () =>
      Effect.gen(function*() {
        const url = `http://127.0.0.1:${yield* address}`
        const many = Array.from({ length: 1_000 }, () => ({ type: "T", data: {} }))
        for (const events of [many, many.slice(0, 5)]) {
          expect((yield* request(`${url}/streams/catchup-1/events`, appendBody(events))).value.status).toBe(200)
        }
        // The first page of the catch-up (1000 events) comes; the store never gives the second.
        frozen.readAllFrozenFrom = frozen.readAllCalls + 2
        const { took, value } = yield* timed(async () => {
          const response = await fetch(`${url}/events/subscribe?categories=catchup`)
          const text = await response.text()
          return { status: response.status, events: text.split("\n").filter((line) => line.startsWith("data:")).length }
        })
        yield* unfrozen
        expect(value).toEqual({ status: 200, events: 1_000 })
        expect(took).toBeLessThan(requestTimeoutMillis + margin)
      }))
  })

  layer(
    Server.layerApp({ requestTimeout: "30 seconds" }).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
      Layer.provideMerge(freezable)
    ),
    { excludeTestServices: true }
  )("with a long request deadline", (it) => {
    it.effect("/health answers 503 within a second when the store does not answer", () =>
      Effect.gen(function*() {
        const url = `http://127.0.0.1:${yield* address}`
        expect((yield* request(`${url}/health`)).value.status).toBe(200)
        frozen.version = true
        const { took, value } = yield* request(`${url}/health`)
        yield* unfrozen
        expect(value.status).toBe(503)
        expect(value.body).toMatchObject({ _tag: "ServiceUnavailable" })
        expect(took).toBeGreaterThanOrEqual(950)
        expect(took).toBeLessThan(1_000 + healthMargin)
      }))
  })

  it.live(
    "concord serve's deadline is --lock-timeout-ms + 3000 by default; a deadline below 1 ms is refused",
    () =>
      Effect.gen(function*() {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-deadlines-"))
        const server = yield* Effect.promise(() =>
          startServer(["--db", path.join(directory, "deadline.db"), "--lock-timeout-ms", "200"])
        )
        const refused = yield* Effect.promise(() =>
          runConcord(["serve", "--db", path.join(directory, "refused.db")], { CONCORD_REQUEST_TIMEOUT_MS: "0" })
        )
        const outcome = yield* raw(
          Number(new URL(server.url).port),
          "POST /streams/deadline-cli/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
            "content-length: 100\r\n\r\n{"
        ).pipe(Effect.ensuring(Effect.promise(() => server.stop())))
        fs.rmSync(directory, { recursive: true, force: true })
        expect(JSON.parse(outcome.text.slice(outcome.text.indexOf("\r\n\r\n") + 4))).toMatchObject({
          _tag: "AppendTimeout",
          timeoutMillis: 3_200,
          mayHaveCommitted: false
        })
        expect(outcome.answeredAfter).toBeGreaterThanOrEqual(3_100)
        expect(outcome.answeredAfter).toBeLessThan(3_200 + margin)
        expect(refused.code).not.toBe(0)
        expect(`${refused.stdout}${refused.stderr}`).toContain("--request-timeout-ms must be between 1 and 2147483647")
        expect(`${refused.stdout}${refused.stderr}`).not.toContain("listening")
      }),
    60_000
  )
})

/** A port nothing listens on now. */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
)

/** Whether something listens on `port`. */
const listening = (port: number) =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy()
        resolve(true)
      })
      socket.on("error", () => resolve(false))
    })
  )

describe("the deadlines Server takes", () => {
  const outOfRange = [Duration.infinity, Duration.millis(2 ** 31), Duration.zero, Duration.micros(500n)]

  it.live("a requestTimeout or shutdownTimeout a timer cannot keep is refused at start, before the port is bound", () =>
    Effect.gen(function*() {
      for (const option of ["requestTimeout", "shutdownTimeout"] as const) {
        for (const timeout of outOfRange) {
          const port = yield* freePort
          const error = yield* Effect.scoped(Layer.build(
            Server.layer({ port, [option]: timeout }).pipe(Layer.provide(EventStore.layerMemory()))
          )).pipe(Effect.flip)
          expect(error).toEqual(
            new Server.TimeoutOutOfRange({
              option,
              message: `${option} must be between 1 millisecond and 2147483647 milliseconds (about 24.8 days), ` +
                `not ${Duration.format(timeout)}`
            })
          )
          expect(yield* listening(port)).toBe(false)
        }
      }
      for (const timeout of outOfRange) {
        const error = yield* Effect.scoped(Layer.build(
          Server.layerApp({ requestTimeout: timeout }).pipe(
            Layer.provide(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
            Layer.provide(EventStore.layerMemory())
          )
        )).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "TimeoutOutOfRange", option: "requestTimeout" })
      }
      // The bounds themselves are taken.
      for (const timeout of [Duration.millis(1), Duration.millis(Server.maxTimeoutMillis)]) {
        yield* Effect.scoped(Layer.build(
          Server.layer({ port: 0, requestTimeout: timeout, shutdownTimeout: timeout }).pipe(
            Layer.provide(EventStore.layerMemory())
          )
        ))
      }
    }))

  it("by default, the request deadline is above the SQL stores' default append deadlines, the shutdown bound above it", () => {
    // PgEventStore without a lock timeout gives an append 10 s, SqliteEventStore its busy timeout (10 s) + 1 s; the
    // CLI leaves 2 s between the store's deadline and the request's.
    expect(Duration.toMillis(Server.defaultRequestTimeout)).toBeGreaterThanOrEqual(11_000 + 2_000)
    expect(Duration.toMillis(Server.defaultShutdownTimeout)).toBeGreaterThan(
      Duration.toMillis(Server.defaultRequestTimeout)
    )
  })
})
