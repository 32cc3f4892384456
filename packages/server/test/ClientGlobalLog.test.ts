// The global log through ConcordClient: readAll returns what the service's store returns for any options, subscribe
// delivers every event exactly once and in order while writers append, across cut connections and a restart of the
// service, and fails with a StoreError when the service stays away or refuses it.
import { EventStore, EventStoreError, ExpectedVersion, Position, StreamId } from "@concord/core"
import { ConcordClient, Server } from "@concord/server"
import { Checker } from "@concord/testing"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { Chunk, Context, Effect, Either, Exit, FastCheck as fc, Layer, Redacted, Scope, Stream } from "effect"
import { createServer, type ServerResponse } from "node:http"
import { follow } from "./support/follow.js"

// The service over a memory store the tests also reach directly, on a Node server whose subscription responses the
// tests can cut, as a network would.
const nodeServer = createServer()
const open = new Set<ServerResponse>()
nodeServer.on("request", (request, response) => {
  if (request.url?.startsWith("/events/subscribe")) {
    open.add(response)
    response.once("close", () => open.delete(response))
  }
})
const cutSubscriptions = () => {
  for (const response of open) response.destroy()
}

const service = Server.layerApp({ keepAliveInterval: "1 second" }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => nodeServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(EventStore.layerMemory())
)

const urlOf = (server: HttpServer.HttpServer) =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""

const remoteStore = (options: Partial<ConcordClient.Options> = {}) =>
  Effect.gen(function*() {
    const baseUrl = urlOf(yield* HttpServer.HttpServer)
    return yield* EventStore.EventStore.pipe(
      Effect.provide(
        ConcordClient.layerEventStore({ baseUrl, ...options }).pipe(Layer.provide(FetchHttpClient.layer))
      )
    )
  })

const until = async (done: () => boolean, what: string, timeoutMs = 10_000) => {
  for (const start = Date.now(); !done();) {
    if (Date.now() - start > timeoutMs) throw new Error(`not ${what} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const ids = (events: Chunk.Chunk<{ readonly id: string }>) => Chunk.toArray(events).map((e) => e.id)

/** Writers appending through `store` to several streams at once. */
const writers = (store: EventStore.Service, streams: ReadonlyArray<string>, count: number, appendsEach: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, w) => w),
    (w) =>
      Effect.forEach(
        Array.from({ length: appendsEach }, (_, i) => i),
        (i) =>
          store.append(StreamId.make(streams[(w + i) % streams.length]!), ExpectedVersion.any, [
            { type: (w + i) % 2 === 0 ? "Bumped" : "Noted", data: { w, i } },
            { type: "Noted", data: { w, i, second: true } }
          ]),
        { discard: true }
      ),
    { concurrency: "unbounded", discard: true }
  )

describe("ConcordClient and the global log", () => {
  layer(service, { excludeTestServices: true })((it) => {
    it.effect("readAll returns what the service's store returns, for any after, limit and filter", () =>
      Effect.gen(function*() {
        const local = yield* EventStore.EventStore
        const remote = yield* remoteStore()
        // Streams whose categories and types the service's lists cannot all carry: "" (a stream id starting with
        // -), and a comma, which the client filters itself.
        for (
          const [stream, types] of [["rtrip-1", ["A", "B"]], ["rtripb-1", ["A", "a,b"]], ["-rtrip", ["B"]], [
            "rt,rip-1",
            ["a,b", "A"]
          ]] as const
        ) {
          yield* local.append(StreamId.make(stream), ExpectedVersion.any, types.map((type) => ({ type, data: {} })))
        }
        const log = Chunk.toArray(yield* Stream.runCollect(local.readAll()))
        const list = <A>(items: ReadonlyArray<A>) => fc.option(fc.subarray([...items]), { nil: undefined })
        const options = fc.record({
          after: fc.option(
            fc.constantFrom(...log.map((e) => e.position), Position.start, Position.make({ sequence: 10n ** 6n })),
            {
              nil: undefined
            }
          ),
          limit: fc.option(fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom(Infinity, Number.NaN, 2.5)), {
            nil: undefined
          }),
          filter: fc.option(
            fc.record({
              types: list(["A", "B", "a,b", "", "t".repeat(300)]),
              categories: list(["rtrip", "rtripb", "", "rt,rip", "rtrip-1", "nothing"])
            }),
            { nil: undefined }
          )
        })
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(options, (readAllOptions) =>
              Effect.runPromise(Effect.gen(function*() {
                const expected = ids(yield* Stream.runCollect(local.readAll(readAllOptions)))
                expect(ids(yield* Stream.runCollect(remote.readAll(readAllOptions)))).toEqual(expected)
              }))),
            { numRuns: 150 }
          )
        )
      }))

    it.effect("invalid options fail with InvalidArgument, as every store's do", () =>
      Effect.gen(function*() {
        const remote = yield* remoteStore()
        const bad: ReadonlyArray<unknown> = [
          { after: "1" },
          { after: 1 },
          { filter: { types: "A" } },
          { filter: { categories: [1] } },
          { filter: [] }
        ]
        for (const options of bad) {
          const readAll = yield* Effect.flip(Stream.runCollect(remote.readAll(options as never)))
          const subscribe = yield* Effect.flip(Stream.runCollect(remote.subscribe(options as never)))
          expect(EventStoreError.isInvalidArgument(readAll), JSON.stringify(options)).toBe(true)
          expect(subscribe).toMatchObject({ _tag: "InvalidArgument", operation: "subscribe" })
        }
        expect(yield* Effect.flip(Stream.runCollect(remote.readAll({ limit: "5" } as never)))).toMatchObject({
          _tag: "InvalidArgument",
          operation: "readAll",
          reason: "limit must be a number"
        })
        expect(yield* Effect.flip(Stream.runCollect(remote.readAll({ after: "end" } as never)))).toMatchObject({
          _tag: "InvalidArgument",
          operation: "readAll"
        })
      }))

    it.effect(
      "subscribers from the start, midway, from the end and filtered get every event once and in order while 20 " +
        "writers append, and so does one whose connection is cut again and again",
      () =>
        Effect.gen(function*() {
          const local = yield* EventStore.EventStore
          const remote = yield* remoteStore()
          const streams = ["subsa-1", "subsa-2", "subsb-1", "subsc-1"]
          yield* writers(remote, streams, 3, 2)
          const before = Chunk.toArray(yield* Stream.runCollect(local.readAll()))
          const midway = before[before.length - 4]!.position
          const end = before[before.length - 1]!.position
          // A type with a comma: the client filters by it itself.
          const filter = { types: ["Bumped", "x,y"], categories: ["subsa", "subsc"] }
          const followers = {
            start: yield* follow(remote),
            midway: yield* follow(remote, { after: midway }),
            end: yield* follow(remote, { after: "end" }),
            filtered: yield* follow(remote, { filter }),
            cut: yield* follow(remote)
          }
          // Every subscription is open before anything is written: "end" is the end when the service subscribes.
          yield* Effect.promise(() => until(() => open.size >= 5, "five subscriptions open"))
          yield* Effect.all([
            writers(remote, streams, 20, 6),
            local.append(StreamId.make("subsa-9"), ExpectedVersion.any, [{ type: "x,y", data: {} }]),
            // Connections cut while the writers append: the client reconnects after the last event it delivered.
            Effect.forEach([150, 300, 450], (ms) => Effect.delay(Effect.sync(cutSubscriptions), `${ms} millis`), {
              discard: true
            })
          ], { concurrency: "unbounded" })
          const log = Chunk.toArray(yield* Stream.runCollect(local.readAll()))
          const last = log[log.length - 1]!.position
          const lastFiltered = log.filter((e) => EventStore.matches(e, filter)).at(-1)!.position
          yield* Effect.all([
            followers.start.reached(last),
            followers.midway.reached(last),
            followers.end.reached(last),
            followers.cut.reached(last),
            followers.filtered.reached(lastFiltered)
          ])
          yield* Effect.sleep("50 millis") // room for a stray repeat to show
          for (const follower of Object.values(followers)) yield* follower.stop
          Checker.assertSubscription({ delivered: followers.start.delivered, log }, "from the start")
          Checker.assertSubscription({ delivered: followers.midway.delivered, log, after: midway }, "midway")
          Checker.assertSubscription({ delivered: followers.end.delivered, log, after: end }, "from the end")
          Checker.assertSubscription({ delivered: followers.filtered.delivered, log, filter }, "filtered")
          Checker.assertSubscription({ delivered: followers.cut.delivered, log }, "cut")
          expect(followers.filtered.delivered.some((e) => e.type === "x,y")).toBe(true)
          expect(followers.end.delivered.length).toBe(log.length - before.length)
        }),
      120_000
    )
  })
})

describe("ConcordClient's subscription and the service coming and going", () => {
  const makeStore = EventStore.makeMemory()

  /** Serves `store` on `port` (0: any) until the scope closes; returns the port. */
  const serve = (local: EventStore.Service, port: number, scope: Scope.Scope) =>
    Layer.buildWithScope(
      Server.layerApp({}).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
        Layer.provide(Layer.succeed(EventStore.EventStore, local))
      ),
      scope
    ).pipe(Effect.map((context) => {
      const server = Context.get(context, HttpServer.HttpServer)
      return server.address._tag === "TcpAddress" ? server.address.port : 0
    }))

  const client = (port: number, options: Partial<ConcordClient.Options> = {}) =>
    EventStore.EventStore.pipe(
      Effect.provide(
        ConcordClient.layerEventStore({ baseUrl: `http://127.0.0.1:${port}`, ...options }).pipe(
          Layer.provide(FetchHttpClient.layer)
        )
      )
    )

  it.live(
    "a subscription goes on after the service restarts, from the last event it delivered",
    () =>
      Effect.gen(function*() {
        const local = yield* makeStore
        const first = yield* Scope.make()
        const port = yield* serve(local, 0, first)
        const remote = yield* client(port)
        const id = StreamId.make("restart-1")
        yield* local.append(id, ExpectedVersion.any, [{ type: "Noted", data: { n: 1 } }])
        const follower = yield* follow(remote)
        yield* follower.reached((yield* Stream.runCollect(local.readAll())).pipe(Chunk.unsafeLast).position)
        // The service shuts down (ending the subscription), events are committed while it is away, then it is back.
        const stopped = Date.now()
        yield* Scope.close(first, Exit.void)
        expect(Date.now() - stopped).toBeLessThan(3_000)
        yield* local.append(id, ExpectedVersion.any, [{ type: "Noted", data: { n: 2 } }, { type: "Noted", data: {} }])
        yield* Effect.sleep("300 millis")
        const second = yield* Scope.make()
        yield* serve(local, port, second)
        yield* local.append(id, ExpectedVersion.any, [{ type: "Noted", data: { n: 3 } }])
        const log = Chunk.toArray(yield* Stream.runCollect(local.readAll()))
        yield* follower.reached(log.at(-1)!.position)
        yield* follower.stop
        yield* Scope.close(second, Exit.void)
        Checker.assertSubscription({ delivered: follower.delivered, log })
        expect(follower.delivered.length).toBe(4)
      }),
    60_000
  )

  it.live(
    "a subscription fails with a StoreError once reconnecting has failed for the deadline",
    () =>
      Effect.gen(function*() {
        const local = yield* makeStore
        const scope = yield* Scope.make()
        const port = yield* serve(local, 0, scope)
        const remote = yield* client(port, { reconnectDeadline: "700 millis" })
        const follower = yield* follow(remote)
        yield* Effect.sleep("200 millis")
        const stopped = Date.now()
        yield* Scope.close(scope, Exit.void)
        const error = yield* Effect.flip(follower.reached(Position.make({ sequence: 10n ** 9n }), 10_000))
        expect(Date.now() - stopped).toBeGreaterThanOrEqual(700)
        expect(Date.now() - stopped).toBeLessThan(8_000)
        expect(error.message).toMatch(/StoreError/)
      }),
    30_000
  )

  it.live("a refused token fails the subscription with a StoreError at once, and readAll too", () =>
    Effect.gen(function*() {
      const local = yield* makeStore
      const scope = yield* Scope.make()
      const port = yield* Layer.buildWithScope(
        Server.layerApp({ token: Redacted.make("the-right-token-16+") }).pipe(
          Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
          Layer.provide(Layer.succeed(EventStore.EventStore, local))
        ),
        scope
      ).pipe(Effect.map((context) => {
        const server = Context.get(context, HttpServer.HttpServer)
        return server.address._tag === "TcpAddress" ? server.address.port : 0
      }))
      const wrong = yield* client(port, { token: Redacted.make("the-wrong-token-16+") })
      const started = Date.now()
      const subscribed = yield* Effect.either(Stream.runCollect(wrong.subscribe()))
      expect(Either.isLeft(subscribed) && subscribed.left._tag).toBe("StoreError")
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(yield* Effect.flip(Stream.runCollect(wrong.readAll()))).toMatchObject({ _tag: "StoreError" })
      const right = yield* client(port, { token: Redacted.make("the-right-token-16+") })
      yield* Stream.runCollect(right.readAll({ limit: 1 }))
      yield* Scope.close(scope, Exit.void)
    }))
})
