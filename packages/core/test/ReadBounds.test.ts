import { EventStore, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck as fc, Stream } from "effect"

const max = StreamVersion.max

/** Any number a caller may pass, weighted towards the edges the rules name. */
const bound = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -3, max: 14 }),
  fc.double({ min: -3, max: 14 }),
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, max, max + 1, 2 ** 53, Number.MAX_VALUE, 1e-300)
)

/** The rules of `EventStore.ReadOptions`, read literally: versions at or after `from`, at most `limit` of them. */
const model = (versions: ReadonlyArray<number>, options: EventStore.ReadOptions) => {
  const { from, limit } = options
  const after = from === undefined || Number.isNaN(from) ? versions : versions.filter((v) => v >= from)
  return limit === undefined || Number.isNaN(limit) ? after : after.filter((_, i) => i + 1 <= limit)
}

describe("EventStore.readBounds", () => {
  it.each<[EventStore.ReadOptions | undefined, EventStore.ReadBounds]>([
    [undefined, { from: StreamVersion.make(1), limit: max }],
    [{}, { from: StreamVersion.make(1), limit: max }],
    [{ from: 0 }, { from: StreamVersion.make(1), limit: max }],
    [{ from: -5, limit: 3 }, { from: StreamVersion.make(1), limit: 3 }],
    [{ from: Number.NaN, limit: Number.NaN }, { from: StreamVersion.make(1), limit: max }],
    [{ from: 1.2, limit: 2.9 }, { from: StreamVersion.make(2), limit: 2 }],
    [{ from: 4, limit: 0 }, { from: StreamVersion.make(4), limit: 0 }],
    [{ from: 4, limit: -1 }, { from: StreamVersion.make(4), limit: 0 }],
    [{ from: 4, limit: Infinity }, { from: StreamVersion.make(4), limit: max - 3 }],
    [{ from: max }, { from: max, limit: 1 }],
    [{ from: max + 1 }, { from: StreamVersion.make(max + 1), limit: 0 }],
    [{ from: Infinity, limit: 5 }, { from: StreamVersion.make(max + 1), limit: 0 }],
    [{ from: 2 ** 60 }, { from: StreamVersion.make(max + 1), limit: 0 }]
  ])("%j reads %j", (options, bounds) => {
    expect(EventStore.readBounds(options)).toEqual(bounds)
  })

  it.prop(
    "always whole numbers from 1 that never pass StreamVersion.max",
    { from: bound, limit: bound },
    (options) => {
      const { from, limit } = EventStore.readBounds(options)
      expect(Number.isSafeInteger(from) && Number.isSafeInteger(limit)).toBe(true)
      expect(from).toBeGreaterThanOrEqual(1)
      expect(limit).toBeGreaterThanOrEqual(0)
      expect(from + limit - 1).toBeLessThanOrEqual(max)
    }
  )

  it.effect.prop(
    "the memory store reads what the rules say, whatever the numbers",
    { from: bound, limit: bound },
    (options) =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = StreamId.make("ten")
        yield* store.append(id, ExpectedVersion.noStream, Array.from({ length: 10 }, () => ({ type: "E", data: {} })))
        const read = yield* Stream.runCollect(store.read(id, options))
        expect(Chunk.toArray(read).map((e) => e.version)).toEqual(model([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], options))
        expect(Chunk.size(yield* Stream.runCollect(store.read(StreamId.make("none"), options)))).toBe(0)
      }).pipe(Effect.provide(EventStore.layerMemory()))
  )
})
