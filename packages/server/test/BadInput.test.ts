// Bad input through the remote store and the service: the client refuses what every store refuses, with the same
// typed errors and without changing anything, sends any valid stream id to its own stream, and the service answers an
// expected version no store accepts with a JSON 400.
import { EventStore, EventStoreError, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { ConcordClient } from "@concord/server"
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import { baseUrl, serviceAt } from "./support/service.js"

// The service over a memory store that the tests also reach directly, to see what was written.
const service = serviceAt()

/** The store behind the service, and the client's store over it. */
const stores = Effect.gen(function*() {
  const local = yield* EventStore.EventStore
  const remote = yield* EventStore.EventStore.pipe(
    Effect.provide(
      ConcordClient.layerEventStore({ baseUrl: yield* baseUrl }).pipe(Layer.provide(FetchHttpClient.layer))
    )
  )
  return { local, remote }
})

const types = (store: EventStore.Service, streamId: StreamId.StreamId) =>
  Effect.map(Stream.runCollect(store.read(streamId)), (events) => Chunk.toArray(events).map((e) => e.type))

describe("bad input through ConcordClient and the service", () => {
  layer(service)((it) => {
    it.effect("the client refuses invalid stream ids with InvalidArgument, for append, read and version", () =>
      Effect.gen(function*() {
        const { remote } = yield* stores
        for (const raw of ["", "x".repeat(513), "a\u0000b", "a\ud800"]) {
          const streamId = raw as StreamId.StreamId
          const appended = yield* Effect.flip(remote.append(streamId, ExpectedVersion.any, [{ type: "T", data: {} }]))
          const read = yield* Effect.flip(Stream.runCollect(remote.read(streamId)))
          const version = yield* Effect.flip(remote.version(streamId))
          for (const [error, operation] of [[appended, "append"], [read, "read"], [version, "version"]] as const) {
            expect(EventStoreError.isInvalidArgument(error), operation).toBe(true)
            expect(error).toMatchObject({ _tag: "InvalidArgument", operation, streamId: raw })
          }
        }
      }))

    it.effect("the client refuses expected versions no store accepts, and the service writes nothing", () =>
      Effect.gen(function*() {
        const { local, remote } = yield* stores
        const streamId = StreamId.make("bad-input-versions")
        yield* remote.append(streamId, ExpectedVersion.noStream, [{ type: "Created", data: {} }])
        for (
          const expected of [
            ExpectedVersion.exact(StreamVersion.max + 1),
            { _tag: "Exact", version: -1 },
            { _tag: "Exact", version: 0.5 },
            { _tag: "Exact", version: Number.NaN },
            { _tag: "Nope" },
            undefined
          ] as ReadonlyArray<ExpectedVersion.ExpectedVersion>
        ) {
          const error = yield* Effect.flip(remote.append(streamId, expected, [{ type: "Noted", data: {} }]))
          expect(error).toMatchObject({ _tag: "InvalidArgument", operation: "append", streamId })
        }
        expect(yield* types(local, streamId)).toEqual(["Created"])
      }))

    it.effect("data JSON cannot carry exactly is refused as every store refuses it, not changed on its way", () =>
      Effect.gen(function*() {
        const { local, remote } = yield* stores
        const streamId = StreamId.make("bad-input-data")
        for (const bad of [Number.NaN, Infinity, undefined, new Date(0), "a\u0000b"]) {
          const error = yield* Effect.flip(
            remote.append(streamId, ExpectedVersion.any, [{ type: "Noted", data: {} }, {
              type: "Noted",
              data: { bad }
            }])
          )
          expect(error).toMatchObject({ _tag: "InvalidEventData", streamId, index: 1 })
        }
        expect(yield* local.version(streamId)).toBe(0)
      }))

    it.effect("any valid stream id reaches its own stream: / ? # % and escapes in it are sent encoded", () =>
      Effect.gen(function*() {
        const { local, remote } = yield* stores
        for (const suffix of ["a%20b", "a b", "a/b", "../x", "a?b=1", "a#b", "%", "%2", "é😀", "a+b&c"]) {
          const streamId = StreamId.make(`bad-input-odd-${suffix}`)
          const result = yield* remote.append(streamId, ExpectedVersion.noStream, [{ type: "Noted", data: {} }])
          expect(result, suffix).toEqual({ streamId, firstVersion: 1, lastVersion: 1, rebasedOver: 0 })
          expect(yield* local.version(streamId), suffix).toBe(1)
          expect(yield* remote.version(streamId), suffix).toBe(1)
          expect(yield* types(remote, streamId), suffix).toEqual(["Noted"])
        }
        // Nothing went to the streams an unencoded path would have named.
        expect(yield* local.version(StreamId.make("bad-input-odd-a b"))).toBe(1)
      }))

    it.effect("the service answers an expected version past StreamVersion.max with a JSON 400, and writes nothing", () =>
      Effect.gen(function*() {
        const { local } = yield* stores
        const url = yield* baseUrl
        const streamId = StreamId.make("bad-input-http")
        const post = (expectedVersion: unknown) =>
          Effect.promise(async () => {
            const response = await fetch(`${url}/streams/${streamId}/events`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ expectedVersion, events: [{ type: "Noted", data: {} }] })
            })
            return { status: response.status, body: await response.json() as Record<string, unknown> }
          })
        const pastMax = yield* post(StreamVersion.max + 1)
        expect(pastMax).toMatchObject({ status: 400, body: { _tag: "HttpApiDecodeError" } })
        expect(pastMax.body.issues).toContainEqual({
          _tag: "Refinement",
          path: ["expectedVersion"],
          message: `an expected version must be "any", "noStream" or a whole number from 0 to ${StreamVersion.max} ` +
            `(StreamVersion.max)`
        })
        // Numbers the request's Schema refuses (not safe integers, negative) are refused before the store.
        for (const version of [1e300, -1, 1.5]) expect((yield* post(version)).status).toBe(400)
        expect(yield* local.version(streamId)).toBe(0)
      }))
  })
})
