// Reads answer as they encode, over a running service: the body is the JSON the declared `ReadResponse` Schema would
// give, byte for byte, sent in pieces (the encoder alone: ReadResponseEncoding.test.ts); what fails before the first
// byte gets its JSON error status, a store failing mid-answer cuts the connection, readers that leave change nothing,
// and many readers at once do not hold up a health check.
import type { Event } from "@concord/core"
import { EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import { Api, Server } from "@concord/server"
import { HttpServerRequest } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Effect, Layer, Schema, Stream } from "effect"
import * as http from "node:http"
import * as readResponse from "../src/internal/readResponse.js"
import { baseUrl } from "./support/service.js"

const encodeResponse = Schema.encodeSync(Api.ReadResponse)

/** What the endpoint declares: the Schema's encoding of the page, as `JSON.stringify` writes it. */
const declared = (events: ReadonlyArray<Event.RecordedEvent>) => JSON.stringify(encodeResponse({ events }))

/**
 * How the store behind the service fails: its reads from the `failFrom`th call on (1-based), with a `StoreError`, or
 * when `undated`, by giving events whose date cannot be written (a defect of the encoding, not an error of the store).
 */
const failing = { failFrom: Infinity, calls: 0, undated: false }

const storeFailure = Stream.fail(new EventStore.StoreError({ operation: "read", cause: new Error("disk gone") }))

const failingRead = <E>(read: Stream.Stream<Event.RecordedEvent, E>) =>
  Stream.suspend((): Stream.Stream<Event.RecordedEvent, E | EventStore.StoreError> =>
    ++failing.calls < failing.failFrom
      ? read
      : failing.undated
      ? Stream.map(read, (event) => ({ ...event, recordedAt: new Date(Number.NaN) }))
      : storeFailure
  )

const faulty = Layer.effect(
  EventStore.EventStore,
  Effect.map(EventStore.EventStore, (store): EventStore.Service => ({
    ...store,
    read: (streamId, options) => failingRead(store.read(streamId, options)),
    readAll: (options) => failingRead(store.readAll(options))
  }))
).pipe(Layer.provideMerge(EventStore.layerMemory()))

const service = Server.layerApp({}).pipe(
  Layer.provideMerge(NodeHttpServer.layer(http.createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(faulty)
)

const failAfter = (calls: number, undated = false) =>
  Effect.sync(() => Object.assign(failing, { failFrom: calls + 1, calls: 0, undated }))
const healthy = failAfter(Infinity)

const get = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
  })

/** A response read to its end or its breaking: its status, what arrived, and whether it completed. */
const getRaw = (url: string) =>
  Effect.promise(() =>
    new Promise<{ status: number; text: string; complete: boolean }>((resolve) => {
      http.get(url, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (text += chunk))
        response.on("end", () => resolve({ status: response.statusCode!, text, complete: response.complete }))
        response.on("error", () => resolve({ status: response.statusCode!, text, complete: false }))
        response.on("aborted", () => resolve({ status: response.statusCode!, text, complete: false }))
      }).on("error", () => resolve({ status: 0, text: "", complete: false }))
    })
  )

const types = ["Opened", "Noted", "Closed"] as const

/** `count` events appended to `stream`, a thousand at a time. */
const fill = (stream: string, count: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    for (let start = 0; start < count; start += 1_000) {
      yield* store.append(
        StreamId.make(stream),
        ExpectedVersion.any,
        Array.from({ length: Math.min(1_000, count - start) }, (_, i) => ({
          type: types[(start + i) % 3]!,
          data: { i: start + i, text: "x".repeat(40), nested: { list: [start + i, null, true] } },
          metadata: { by: "test" }
        }))
      )
    }
  })

const storeRead = (stream: string, options: EventStore.ReadOptions) =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) => Effect.map(Stream.runCollect(store.read(StreamId.make(stream), options)), Chunk.toReadonlyArray)
  )

const storeReadAll = (options: EventStore.ReadAllOptions) =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) => Effect.map(Stream.runCollect(store.readAll(options)), Chunk.toReadonlyArray)
  )

describe("streamed reads over HTTP", () => {
  layer(service, { excludeTestServices: true })((it) => {
    it.effect("a stream's pages are the declared JSON byte for byte, across store pages, at the edges", () =>
      Effect.gen(function*() {
        yield* healthy
        yield* fill("long", 2_345)
        const url = yield* baseUrl
        const cases: ReadonlyArray<[string, EventStore.ReadOptions]> = [
          ["", { limit: readResponse.storePage * 10 }],
          ["?limit=2345", { limit: 2_345 }],
          ["?limit=2000", { limit: 2_000 }],
          ["?limit=1000", { limit: 1_000 }],
          ["?from=1000&limit=1001", { from: 1_000, limit: 1_001 }],
          ["?from=2345", { from: 2_345 }],
          ["?limit=0", { limit: 0 }],
          ["?from=2346", { from: 2_346 }],
          ["?from=99999", { from: 99_999 }]
        ]
        for (const [query, options] of cases) {
          const answer = yield* get(`${url}/streams/long/events${query}`)
          expect(answer.status, query).toBe(200)
          expect(answer.type, query).toBe("application/json")
          expect(answer.text, query).toBe(declared(yield* storeRead("long", options)))
        }
        expect((yield* get(`${url}/streams/never-written/events`)).text).toBe(`{"events":[]}`)
        expect((yield* get(`${url}/streams/long/events?limit=0`)).text).toBe(`{"events":[]}`)
      }))

    it.effect("the global log's pages, filtered or not, are the declared JSON byte for byte", () =>
      Effect.gen(function*() {
        yield* healthy
        yield* fill("log-a", 1_500)
        yield* fill("other-b", 700)
        const url = yield* baseUrl
        const middle = (yield* storeReadAll({ limit: 1_200 }))[1_199]!.position
        const cases: ReadonlyArray<[string, EventStore.ReadAllOptions]> = [
          ["", { limit: 10_000 }],
          ["?limit=1500", { limit: 1_500 }],
          ["?types=Noted&limit=1200", { limit: 1_200, filter: { types: ["Noted"] } }],
          ["?categories=other&limit=5000", { limit: 5_000, filter: { categories: ["other"] } }],
          [`?after=${Position.toString(middle)}&limit=1001`, { after: middle, limit: 1_001 }],
          ["?limit=0", { limit: 0 }],
          ["?types=", { limit: 10_000, filter: { types: [] } }]
        ]
        for (const [query, options] of cases) {
          const answer = yield* get(`${url}/events${query}`)
          expect(answer.status, query).toBe(200)
          expect(answer.type, query).toBe("application/json")
          expect(answer.text, query).toBe(declared(yield* storeReadAll(options)))
        }
      }))

    it.effect("what fails before the first byte gets its JSON error status", () =>
      Effect.gen(function*() {
        yield* healthy
        const url = yield* baseUrl
        const invalidId = yield* get(`${url}/streams/a%00b/events`)
        expect(invalidId.status).toBe(400)
        expect(JSON.parse(invalidId.text)._tag).toBe("InvalidStreamId")
        for (const query of ["limit=-1", "limit=10001", "from=0", "limit=many"]) {
          const badParam = yield* get(`${url}/streams/s/events?${query}`)
          expect(badParam.status, query).toBe(400)
          expect(JSON.parse(badParam.text)._tag, query).toBe("HttpApiDecodeError")
        }
        const badAfter = yield* get(`${url}/events?after=nowhere`)
        expect(badAfter.status).toBe(400)
        expect(JSON.parse(badAfter.text)._tag).toBe("HttpApiDecodeError")
        yield* failAfter(0)
        for (const path of ["/streams/s/events", "/events"]) {
          const unavailable = yield* get(`${url}${path}`)
          expect(unavailable.status, path).toBe(503)
          expect(JSON.parse(unavailable.text)._tag, path).toBe("ServiceUnavailable")
        }
        yield* healthy
      }))

    // A failure of the store or of the encoding once the answer began: the first page goes out before the answer, the
    // second fails (the store's read, or an invalid date that is a defect of the encoding).
    const cutsMidAnswer = [
      {
        name: "a store that fails after the answer began cuts the connection: no complete-looking answer",
        stream: "breaks",
        undecodable: false
      },
      {
        name: "an event that cannot be encoded after the answer began cuts the connection too",
        stream: "undated",
        undecodable: true
      }
    ] as const
    for (const { name, stream, undecodable } of cutsMidAnswer) {
      it.effect(name, () =>
        Effect.gen(function*() {
          yield* healthy
          yield* fill(stream, 2_500)
          yield* fill(`log-${stream}`, 100)
          const url = yield* baseUrl
          for (const path of [`/streams/${stream}/events`, "/events"]) {
            yield* failAfter(1, undecodable)
            const broken = yield* getRaw(`${url}${path}`)
            expect(broken.status, path).toBe(200)
            expect(broken.complete, path).toBe(false)
            expect(broken.text.startsWith(readResponse.opening), path).toBe(true)
            expect(() => JSON.parse(broken.text), path).toThrow()
          }
          yield* healthy
          // The service goes on answering.
          const whole = yield* getRaw(`${url}/streams/${stream}/events`)
          expect(whole.complete).toBe(true)
          expect(JSON.parse(whole.text).events).toHaveLength(2_500)
        }))
    }

    it.effect("readers that leave mid-answer stop their reads of the store and leave the service answering", () =>
      Effect.gen(function*() {
        yield* healthy
        yield* fill("left", 10_000)
        const url = yield* baseUrl
        // Each whole answer is ten store pages; the readers leave in the second, once they have more than a page.
        const pageBytes = declared(yield* storeRead("left", { limit: readResponse.storePage })).length
        yield* Effect.promise(() =>
          Promise.all(Array.from({ length: 10 }, () =>
            new Promise<void>((resolve) => {
              const request = http.get(`${url}/streams/left/events?limit=10000`, (response) => {
                let received = 0
                response.on("data", (chunk: Buffer) => {
                  received += chunk.length
                  if (received > pageBytes * 1.2) {
                    request.destroy()
                    resolve()
                  }
                })
              })
              request.on("error", () => resolve())
            })))
        )
        // The service sees them go: by the end of a health check and a whole read, their reads have stopped.
        expect((yield* get(`${url}/health`)).status).toBe(200)
        const settled = yield* getRaw(`${url}/streams/left/events?limit=10000`)
        expect(settled.complete).toBe(true)
        const byReadersThatLeft = failing.calls - 10
        // At most the pages a reader was sent and the one being read when it left, not the ten of a whole answer.
        expect(byReadersThatLeft).toBeLessThanOrEqual(10 * 3)
        // From now on the store is called by this read alone: its ten pages, nothing for the readers that left.
        const before = failing.calls
        const whole = yield* getRaw(`${url}/streams/left/events?limit=10000`)
        expect(whole.complete).toBe(true)
        expect(JSON.parse(whole.text).events).toHaveLength(10_000)
        expect(failing.calls - before).toBe(10)
        expect((yield* get(`${url}/health`)).status).toBe(200)
      }))

    it.effect("many readers at once all get their whole page, and /health answers before the last of them", () =>
      Effect.gen(function*() {
        yield* healthy
        yield* fill("popular", 3_000)
        const url = yield* baseUrl
        const expected = declared(yield* storeRead("popular", { limit: 3_000 }))
        const order: Array<string> = []
        const answers = Array.from({ length: 40 }, () => fetch(`${url}/streams/popular/events?limit=3000`))
        const readers = answers.map((answer, r) =>
          answer.then(async (response) => {
            const text = await response.text()
            order.push(`reader ${r}`)
            return text
          })
        )
        const health = yield* Effect.promise(async () => {
          // Asked once the first reader's answer has begun (its headers arrived): the others are queued or being
          // written by then.
          await Promise.race(answers)
          const response = await fetch(`${url}/health`)
          order.push("health")
          return { status: response.status, body: await response.json() }
        })
        const texts = yield* Effect.promise(() => Promise.all(readers))
        expect(health).toEqual({ status: 200, body: { status: "ok" } })
        for (const text of texts) expect(text).toBe(expected)
        expect(order).toHaveLength(41)
        expect(order.indexOf("health")).toBeLessThan(order.length - 1)
      }))

    it.effect("a long read's body goes in pieces of a few hundred events, the event loop's other work between them", () =>
      Effect.gen(function*() {
        yield* healthy
        yield* fill("pieces", 3_000)
        const events = yield* storeRead("pieces", { limit: 3_000 })
        const page = (from: number, limit: number) => Stream.fromIterable(events.slice(from, from + limit))
        const response = yield* readResponse.pagedRead({
          limit: 3_000,
          read: (limit) => page(0, limit),
          after: (last, limit) => page(last.version, limit),
          operation: "read pieces"
        }).pipe(
          Effect.provideService(
            HttpServerRequest.HttpServerRequest,
            HttpServerRequest.fromWeb(new Request("http://test/"))
          )
        )
        if (response.body._tag !== "Stream") throw new Error(`a body of ${response.body._tag}, not a stream`)
        // Counts the event loop's turns (macrotasks) while the body is produced.
        let turns = 0
        let ticking = true
        const tick = () => {
          turns++
          if (ticking) setImmediate(tick)
        }
        setImmediate(tick)
        const pieces: Array<{ readonly turn: number; readonly text: string }> = []
        yield* Stream.runForEach(
          response.body.stream,
          (piece) => Effect.sync(() => pieces.push({ turn: turns, text: Buffer.from(piece).toString("utf8") }))
        )
        ticking = false
        expect(pieces.map(({ text }) => text).join("")).toBe(declared(events))
        for (const { text } of pieces) expect(text.match(/"streamId":/g)?.length ?? 0).toBeLessThanOrEqual(500)
        for (let i = 1; i < pieces.length; i++) {
          expect(pieces[i]!.turn, `between pieces ${i - 1} and ${i}`).toBeGreaterThan(pieces[i - 1]!.turn)
        }
      }))
  })
})
