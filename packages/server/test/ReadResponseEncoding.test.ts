// The JSON of a read's page as the service writes it, a piece at a time without a Schema pass per event, is exactly
// what the declared `ReadResponse` Schema's encoding and `JSON.stringify` give, for any events and any store paging,
// and for the events SQLite's rows are turned into.
import { Event, EventStore, ExpectedVersion, Position, StreamId, StreamVersion } from "@concord/core"
import { Api } from "@concord/server"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck as fc, Schema, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readResponse from "../src/internal/readResponse.js"

const encodeResponse = Schema.encodeSync(Api.ReadResponse)

/** What the endpoint declares: the Schema's encoding of the page, as `JSON.stringify` writes it. */
const declared = (events: ReadonlyArray<Event.RecordedEvent>) => JSON.stringify(encodeResponse({ events }))

/** A page's body as the service writes it: the opening, every piece in order, the closing. */
const streamed = (pages: ReadonlyArray<ReadonlyArray<Event.RecordedEvent>>) => {
  const encode = readResponse.pageEncoder()
  return readResponse.opening + pages.flatMap((page) => encode(page)).join("") + readResponse.closing
}

const json: fc.Arbitrary<unknown> = fc.jsonValue()

const recordedEvent: fc.Arbitrary<Event.RecordedEvent> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 128, unit: "binary" }).filter((id) => Schema.is(Event.EventId)(id)),
  streamId: fc.string({ minLength: 1, maxLength: 40, unit: "binary" }).filter((id) => Schema.is(StreamId.StreamId)(id)),
  version: fc.integer({ min: 1, max: StreamVersion.max }).map(StreamVersion.make),
  type: fc.string({ minLength: 1, maxLength: 40 }),
  data: fc.oneof(json, fc.constant({ ["__proto__"]: { a: 1 }, b: [1, "\u2028", null] })),
  metadata: fc.oneof(
    fc.dictionary(fc.string(), json),
    fc.constant(JSON.parse(`{"__proto__":{"x":1},"user":"é\\u0000"}`) as Event.Metadata)
  ),
  recordedAt: fc.date({ min: new Date(0), max: new Date(8.64e15), noInvalidDate: true }),
  position: fc.record({ commit: fc.bigUint(2n ** 64n - 1n), sequence: fc.bigUint(2n ** 64n - 1n) }).map(Position.make)
})

/** Events of one append share their time: the encoder remembers the last one written. */
const page = fc.array(recordedEvent, { maxLength: 450 }).chain((events) =>
  fc.boolean().map((shared) =>
    shared && events.length > 0 ? events.map((e) => ({ ...e, recordedAt: events[0]!.recordedAt })) : events
  )
)

describe("the page encoder", () => {
  it("writes exactly what Schema.encode(ReadResponse) and JSON.stringify write, in one page or several", () => {
    fc.assert(
      fc.property(page, fc.integer({ min: 1, max: 500 }), (events, storePage) => {
        const pages: Array<ReadonlyArray<Event.RecordedEvent>> = []
        for (let start = 0; start < events.length; start += storePage) {
          pages.push(events.slice(start, start + storePage))
        }
        expect(streamed(pages)).toBe(declared(events))
      }),
      { numRuns: 200 }
    )
  })

  it("an empty page is the Schema's empty page", () => {
    expect(streamed([])).toBe(declared([]))
    expect(streamed([[], []])).toBe(`{"events":[]}`)
  })

  it("refuses an invalid date, as the Schema's encoding does", () => {
    const event: Event.RecordedEvent = {
      id: "e" as Event.EventId,
      streamId: StreamId.make("s"),
      version: StreamVersion.make(1),
      type: "T",
      data: {},
      metadata: {},
      recordedAt: new Date(Number.NaN),
      position: Position.make({ sequence: 1n })
    }
    expect(() => encodeResponse({ events: [event] })).toThrow()
    expect(() => readResponse.pageEncoder()([event])).toThrow()
  })
})

describe("the page encoder over SQLite's rows", () => {
  it.effect("writes exactly what Schema.encode(ReadResponse) writes for the events EventStore.read returns", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const stream = StreamId.make("rows é😀")
      // Data and metadata as SQLite keeps them (JSON text parsed back): escapes, `__proto__`, large and small numbers,
      // nesting, and the events of one append sharing their time.
      yield* store.append(stream, ExpectedVersion.noStream, [
        { type: "Opened", data: { text: "\u2028 \" \\ é😀", list: [1, -0.5, 1e21, 2 ** 53 - 1, null, true] } },
        { type: "Noted", data: JSON.parse(`{"__proto__":{"a":1},"b":{"c":[[{}]]}}`), metadata: { by: "joe" } },
        {
          id: Event.EventId.make("chosen-id"),
          type: "Closed",
          data: "plain",
          metadata: JSON.parse(`{"__proto__":"x","n":1.5e-7}`)
        }
      ])
      yield* store.append(stream, ExpectedVersion.any, [{ type: "Reopened", data: [] }])
      const events = yield* Effect.map(Stream.runCollect(store.read(stream)), Chunk.toReadonlyArray)
      expect(events).toHaveLength(4)
      expect(streamed([events])).toBe(declared(events))
      expect(streamed([events.slice(0, 1), events.slice(1)])).toBe(declared(events))
      const log = yield* Effect.map(Stream.runCollect(store.readAll()), Chunk.toReadonlyArray)
      expect(streamed([log])).toBe(declared(log))
    }).pipe(
      Effect.provide(SqliteEventStore.layer({
        filename: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "concord-read-encoding-")), "rows.db")
      }))
    ))
})
