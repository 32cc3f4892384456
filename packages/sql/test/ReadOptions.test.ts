// Every store reads by the same rule (EventStore.readBounds): whatever numbers a read is given, the SQL store returns
// the events the memory store returns, as the ReadOptions documentation describes them.
import { EventStore, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck as fc, Layer, Stream } from "effect"

const max = StreamVersion.max

/** Any number a caller may pass, weighted towards the edges the rules name and the SQL store's 1,000-row pages. */
const bound = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -3, max: 14 }),
  fc.integer({ min: 990, max: 1_210 }),
  fc.double({ min: -3, max: 1_210 }),
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, max, max + 1, 2 ** 53, Number.MAX_VALUE, 1e-300)
)

/** The rules of `EventStore.ReadOptions`, read literally: versions at or after `from`, at most `limit` of them. */
const model = (length: number, options: EventStore.ReadOptions): ReadonlyArray<number> => {
  const { from, limit } = options
  const versions = Array.from({ length }, (_, i) => i + 1)
  const after = from === undefined || Number.isNaN(from) ? versions : versions.filter((v) => v >= from)
  return limit === undefined || Number.isNaN(limit) ? after : after.filter((_, i) => i + 1 <= limit)
}

const streams = { short: StreamId.make("short"), long: StreamId.make("long"), none: StreamId.make("none") }
const lengths = { short: 10, long: 1_200, none: 0 }

const seed = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  for (const [name, length] of Object.entries(lengths) as Array<[keyof typeof lengths, number]>) {
    if (length === 0) continue
    const events = Array.from({ length }, (_, i) => ({ type: "Noted", data: { i } }))
    yield* store.append(streams[name], ExpectedVersion.noStream, events)
  }
  return store
})

const sqlite = SqlEventStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" })))

const read = (store: EventStore.Service, streamId: StreamId.StreamId, options: EventStore.ReadOptions) =>
  Effect.map(
    Stream.runCollect(store.read(streamId, options)),
    (events) => Chunk.toArray(events).map(({ data, id, type, version }) => ({ data, id, type, version }))
  )

describe("read options", () => {
  it.effect("the stores were seeded alike", () =>
    Effect.gen(function*() {
      const memory = yield* Effect.provideServiceEffect(seed, EventStore.EventStore, EventStore.makeMemory())
      const sql = yield* seed
      for (const name of ["short", "long"] as const) {
        expect(yield* sql.version(streams[name])).toBe(lengths[name])
        expect(yield* memory.version(streams[name])).toBe(lengths[name])
      }
    }).pipe(Effect.provide(sqlite)))

  it.effect("the memory store and the SQLite store return the same events for any read options", () =>
    Effect.gen(function*() {
      // One store of each for every run: the reads change nothing, and the seed is written once.
      const memory = yield* Effect.provideServiceEffect(seed, EventStore.EventStore, EventStore.makeMemory())
      const sql = yield* seed
      const ids = new Map<string, ReadonlyArray<unknown>>()
      const key = (name: string, version: number) => `${name}@${version}`
      yield* Effect.promise(() =>
        fc.assert(fc.asyncProperty(
          fc.constantFrom("short", "long", "none") as fc.Arbitrary<keyof typeof streams>,
          bound,
          bound,
          (name, from, limit) =>
            Effect.runPromise(Effect.gen(function*() {
              const options = { from, limit }
              const fromMemory = yield* read(memory, streams[name], options)
              const fromSql = yield* read(sql, streams[name], options)
              expect(fromMemory.map((e) => e.version), JSON.stringify(options)).toEqual(model(lengths[name], options))
              // Event ids are the store's own: compare them by version, across runs, and everything else directly.
              expect(fromSql.map(({ id: _, ...rest }) => rest)).toEqual(fromMemory.map(({ id: _, ...rest }) => rest))
              for (const event of fromSql) {
                const seen = ids.get(key(name, event.version))
                if (seen === undefined) ids.set(key(name, event.version), [event.id])
                else expect(seen).toEqual([event.id])
              }
            }))
        ))
      )
    }).pipe(Effect.provide(sqlite)))
})
