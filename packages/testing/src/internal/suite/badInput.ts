// Bad input: a stream id or an expected version that no store accepts, whatever the caller's types said (a cast, a
// hand-built value, ExpectedVersion.exact past StreamVersion.max), fails with InvalidArgument and changes nothing;
// data nested deeper than Event.maxDepth, however deep, fails with InvalidEventData and changes nothing.
import { Event, EventStore, EventStoreError, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { event, freshStream, readAll, type StoreTests } from "./fixtures.js"

/** Strings a stream id cannot be: empty, too long, a NUL, unpaired surrogates, the dot segments no URL addresses. */
const badStreamIds: ReadonlyArray<string> = [
  "",
  ".",
  "..",
  "x".repeat(513),
  "a\u0000b",
  "\u0000",
  "a\ud800",
  "\udc00a",
  "a\ud800\ud800b"
]

/** Expected versions no store accepts: not whole, negative, past StreamVersion.max, of another type or tag. */
const badExpectedVersions: ReadonlyArray<ExpectedVersion.ExpectedVersion> = [
  // Built without a cast: `exact` checks only that the number is a safe integer.
  ExpectedVersion.exact(StreamVersion.max + 1),
  ...[-1, -0.5, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, "1", null, undefined].map((version) =>
    ({ _tag: "Exact", version }) as unknown as ExpectedVersion.ExpectedVersion
  ),
  ...[{ _tag: "Nope", version: 1 }, { _tag: "exact", version: 1 }, { _tag: "any" }, {}, undefined, null, 1, "any"].map(
    (expected) => expected as unknown as ExpectedVersion.ExpectedVersion
  )
]

/** `levels` arrays or objects inside one another, built without recursion. */
const nested = (levels: number): unknown => {
  let value: unknown = "leaf"
  for (let level = 0; level < levels; level++) value = level % 2 === 0 ? [value] : { inner: value }
  return value
}

const describe = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value.slice(0, 20)) : JSON.stringify(value) ?? String(value)

export const badInput = (it: StoreTests): void => {
  it.effect("an invalid stream id fails append, read and version with InvalidArgument, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      for (const raw of badStreamIds) {
        const streamId = raw as StreamId.StreamId
        const id = `bad-stream-${freshStream()}` as Event.EventId
        for (const expected of [ExpectedVersion.any, ExpectedVersion.noStream, ExpectedVersion.exact(3)]) {
          const error = yield* Effect.flip(
            Effect.suspend(() => store.append(streamId, expected, [{ id, type: "Noted", data: {} }]))
          )
          expect(EventStoreError.isInvalidArgument(error), describe(raw)).toBe(true)
          expect(error, describe(raw)).toMatchObject({ _tag: "InvalidArgument", operation: "append", streamId: raw })
        }
        const readError = yield* Effect.flip(Stream.runCollect(store.read(streamId)))
        expect(readError, describe(raw)).toMatchObject({ _tag: "InvalidArgument", operation: "read", streamId: raw })
        const versionError = yield* Effect.flip(store.version(streamId))
        expect(versionError, describe(raw)).toMatchObject({
          _tag: "InvalidArgument",
          operation: "version",
          streamId: raw
        })
        // The event was stored nowhere: its id is free, and a valid stream takes it as new.
        const fresh = freshStream()
        expect(yield* store.append(fresh, ExpectedVersion.noStream, [{ id, type: "Noted", data: {} }])).toEqual({
          streamId: fresh,
          firstVersion: 1,
          lastVersion: 1,
          rebasedOver: 0
        })
      }
    }))

  it.effect("an invalid expected version fails with InvalidArgument, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const empty = freshStream()
      const written = freshStream()
      yield* store.append(written, ExpectedVersion.noStream, [event("Created"), event("Noted")])
      for (const expected of badExpectedVersions) {
        for (const streamId of [empty, written]) {
          for (const events of [[event("Noted")], [event("Created"), event("Noted")], []]) {
            const error = yield* Effect.flip(Effect.suspend(() => store.append(streamId, expected, events)))
            expect(EventStoreError.isInvalidArgument(error), describe(expected)).toBe(true)
            expect(error, describe(expected)).toMatchObject({
              _tag: "InvalidArgument",
              operation: "append",
              streamId
            })
          }
        }
      }
      expect(yield* store.version(empty)).toBe(0)
      expect(yield* store.version(written)).toBe(2)
      expect((yield* readAll(store, written)).map((e) => e.type)).toEqual(["Created", "Noted"])
    }))

  it.effect("data or metadata nested deeper than Event.maxDepth fails with InvalidEventData, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const streamId = freshStream()
      for (const levels of [Event.maxDepth + 1, 100_000]) {
        const deep = nested(levels)
        const batches: ReadonlyArray<[string, ReadonlyArray<Event.EventData>]> = [
          ["data", [event("Noted"), { type: "Noted", data: deep }]],
          ["metadata", [event("Noted"), { type: "Noted", data: {}, metadata: { inner: deep } }]]
        ]
        for (const [field, events] of batches) {
          const error = yield* Effect.flip(store.append(streamId, ExpectedVersion.any, events))
          expect(error, `${field} ${levels}`).toMatchObject({
            _tag: "InvalidEventData",
            streamId,
            index: 1,
            reason: `${field} is nested deeper than ${Event.maxDepth} levels (Event.maxDepth)`
          })
        }
      }
      expect(yield* store.version(streamId)).toBe(0)
      // As deep as the limit allows is stored, and read back as it was.
      const deepest = nested(Event.maxDepth)
      yield* store.append(streamId, ExpectedVersion.noStream, [{ type: "Noted", data: deepest }])
      expect((yield* readAll(store, streamId)).map((e) => e.data)).toEqual([deepest])
    }))

  it.effect("the edges are valid: StreamVersion.max as an expected version, a stream id of 512 characters", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      const error = yield* Effect.flip(store.append(id, ExpectedVersion.exact(StreamVersion.max), [event("Noted")]))
      expect(error).toMatchObject({
        _tag: "WrongExpectedVersion",
        expectedVersion: StreamVersion.max,
        actualVersion: 0
      })
      const long = StreamId.make(`${id}-`.padEnd(512, "x"))
      expect(yield* store.append(long, ExpectedVersion.noStream, [event("Noted")])).toMatchObject({ lastVersion: 1 })
      expect(yield* store.version(long)).toBe(1)
      expect((yield* readAll(store, long)).map((e) => e.streamId)).toEqual([long])
    }))
}
