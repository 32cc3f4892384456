// The remote client reads by the same rule as every store (EventStore.readBounds): whatever numbers a read is given,
// it sends the service parameters it accepts and returns what the memory store returns, never a StoreError.
import { EventStore, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { ConcordClient } from "@concord/server"
import { FetchHttpClient } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck as fc, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Running, startServer } from "./support/server.js"

const max = StreamVersion.max

/** Any number a caller may pass, weighted towards the edges the rules name. */
const bound = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -3, max: 14 }),
  fc.double({ min: -3, max: 14 }),
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, max, max + 1, 2 ** 53, Number.MAX_VALUE, 1e-300)
)

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-client-reads-"))
let server: Running

beforeAll(async () => {
  server = await startServer(["--db", path.join(directory, "reads.db")])
}, 60_000)

afterAll(async () => {
  await server?.stop()
  fs.rmSync(directory, { recursive: true, force: true })
})

const versions = (store: EventStore.Service, streamId: StreamId.StreamId, options: EventStore.ReadOptions) =>
  Effect.map(Stream.runCollect(store.read(streamId, options)), (events) => Chunk.toArray(events).map((e) => e.version))

describe("ConcordClient reads", () => {
  it.effect("return what the memory store returns for any read options", () =>
    Effect.gen(function*() {
      const remote = yield* EventStore.EventStore.pipe(
        Effect.provide(
          ConcordClient.layerEventStore({ baseUrl: server.url }).pipe(Layer.provide(FetchHttpClient.layer))
        )
      )
      const memory = yield* EventStore.makeMemory()
      const id = StreamId.make("reads-1")
      const events = Array.from({ length: 10 }, (_, i) => ({ type: "Noted", data: { i } }))
      for (const store of [remote, memory]) yield* store.append(id, ExpectedVersion.noStream, events)
      expect(yield* versions(remote, id, { from: 0 })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(bound, bound, (from, limit) =>
            Effect.runPromise(Effect.gen(function*() {
              const options = { from, limit }
              expect(yield* versions(remote, id, options), JSON.stringify(options)).toEqual(
                yield* versions(memory, id, options)
              )
            }))),
          { numRuns: 50 }
        )
      )
    }))
})
