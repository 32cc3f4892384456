// Atomic batches: a batch is written whole or not at all, input JSON cannot carry exactly is refused with its index,
// and whatever JSON can carry reads back exactly.
import { type Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { event, freshStream, options, readAll, type StoreTests } from "./fixtures.js"

export const atomicBatches = (it: StoreTests): void => {
  it.effect("a conflict on the last event of a batch writes none of it", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      yield* store.append(id, ExpectedVersion.exact(1), [event("Deleted")], options)
      yield* Effect.flip(
        store.append(id, ExpectedVersion.exact(1), [event("Noted"), event("Noted"), event("Renamed")], options)
      )
      expect((yield* readAll(store, id)).map((e) => e.type)).toEqual(["Created", "Deleted"])
    }))

  it.effect("data JSON cannot carry exactly is refused with its index, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      for (
        const bad of [
          Number.NaN,
          undefined,
          new Date(0),
          10n,
          "nul\u0000",
          "lone\ud800",
          "\udc00lone",
          { ["key\ud800"]: 1 },
          { nested: [1, Infinity] },
          cyclic
        ]
      ) {
        const error = yield* Effect.flip(
          store.append(id, ExpectedVersion.any, [event("Noted"), { type: "Noted", data: { bad } }])
        )
        expect(error).toMatchObject({ _tag: "InvalidEventData", index: 1, type: "Noted" })
      }
      const badMetadata = yield* Effect.flip(
        store.append(id, ExpectedVersion.any, [{ type: "Noted", data: {}, metadata: { at: new Date() } }])
      )
      expect(badMetadata._tag).toBe("InvalidEventData")
      expect(yield* store.version(id)).toBe(0)
    }))

  it.effect("types and ids no store keeps exactly (NUL, unpaired surrogates) are refused, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      // EventData's type is a plain string and an id can be cast: the store checks them itself.
      const bad: ReadonlyArray<Event.EventData> = [
        { type: "", data: {} },
        { type: "No\u0000ted", data: {} },
        { type: "Noted\ud800", data: {} },
        { type: "\udc00Noted", data: {} },
        { id: `a\ud800${id}` as Event.EventId, type: "Noted", data: {} },
        { id: `a\u0000${id}` as Event.EventId, type: "Noted", data: {} }
      ]
      for (const event of bad) {
        const error = yield* Effect.flip(
          store.append(id, ExpectedVersion.any, [{ type: "Noted", data: {} }, event])
        )
        expect(error).toMatchObject({ _tag: "InvalidEventData", index: 1 })
      }
      expect(yield* store.version(id)).toBe(0)
    }))

  it.effect("quotes, unicode, deep nesting and 10 kB strings read back exactly", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = StreamId.make(`q'"\\;--${freshStream()}-é✓😀`)
      const data = {
        quote: "it's \"quoted\" \\ ; DROP TABLE events; --",
        unicode: "ÆØÅ ✓ 😀 \u2028",
        big: "x".repeat(10_000),
        nested: { a: [1, -2.5, 1e300, 0, null, true, { b: [] }] },
        empty: ""
      }
      yield* store.append(id, ExpectedVersion.noStream, [{ type: "Noted", data, metadata: { by: "ü" } }])
      const [stored] = yield* readAll(store, id)
      expect(stored!.data).toEqual(data)
      expect(stored!.metadata).toEqual({ by: "ü" })
      expect(stored!.streamId).toBe(id)
    }))
}
