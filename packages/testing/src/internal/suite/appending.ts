// Appending: versions, rebasing past events the registry lets through, conflicts naming every pair,
// WrongExpectedVersion, `any` and `noStream`, per-append registries, empty batches, and reads with `from` and `limit`.
// The tests that bring a registry of their own to an append are registered only for a store that applies one.
import { type Conflict, ConflictRegistry, EventStore, ExpectedVersion } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { event, freshStream, options, readAll, registry, type StoreTests } from "./fixtures.js"

/** Versions 1 to 4: `Created` and `Noted` a, then `Noted` b and `Tagged` x appended at version 2. */
const createdThenNotedAndTagged = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const id = freshStream()
  yield* store.append(id, ExpectedVersion.noStream, [event("Created"), event("Noted", { note: "a" })], options)
  yield* store.append(id, ExpectedVersion.exact(2), [event("Noted", { note: "b" }), event("Tagged", { tag: "x" })])
  return id
})

/** `perAppendRegistries`: whether the store applies an append's `options.registry` (else the suite's registry). */
export const appending = (it: StoreTests, perAppendRegistries: boolean): void => {
  it.effect("a new stream takes versions 1..n and reads back in order", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      const result = yield* store.append(id, ExpectedVersion.noStream, [
        event("Created", { name: "a" }),
        event("Noted", { note: "n1" }, "id-" + id)
      ], options)
      expect(result).toEqual({ streamId: id, firstVersion: 1, lastVersion: 2, rebasedOver: 0 })
      const log = yield* readAll(store, id)
      expect(log.map((e) => [e.version, e.type, e.data])).toEqual([
        [1, "Created", { name: "a" }],
        [2, "Noted", { note: "n1" }]
      ])
      expect(log[1]!.id).toBe("id-" + id)
      expect(log[0]!.streamId).toBe(id)
      expect(log[0]!.metadata).toEqual({})
      expect(log[0]!.recordedAt).toBeInstanceOf(Date)
      expect(yield* store.version(id)).toBe(2)
    }))

  it.effect("an unknown stream is at version 0 and reads empty", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      expect(yield* store.version(id)).toBe(0)
      expect(yield* readAll(store, id)).toEqual([])
    }))

  it.effect("expected = current appends at the end", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      const result = yield* store.append(id, ExpectedVersion.exact(1), [event("Deleted")], options)
      expect(result).toEqual({ streamId: id, firstVersion: 2, lastVersion: 2, rebasedOver: 0 })
    }))

  it.effect("a stale append the registry lets through goes after the current end", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = yield* createdThenNotedAndTagged
      const result = yield* store.append(id, ExpectedVersion.exact(2), [event("Renamed", { name: "r" })], options)
      expect(result).toEqual({ streamId: id, firstVersion: 5, lastVersion: 5, rebasedOver: 2 })
      expect((yield* readAll(store, id)).map((e) => e.type)).toEqual(["Created", "Noted", "Noted", "Tagged", "Renamed"])
    }))

  it.effect("a real conflict names every pair and writes nothing", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      const theirs = yield* store.append(id, ExpectedVersion.exact(1), [
        event("Renamed", { name: "theirs" }),
        event("Tagged", { tag: "a", value: 1 })
      ], options)
      const error = yield* Effect.flip(store.append(id, ExpectedVersion.exact(1), [
        event("Noted", { note: "fine" }),
        event("Tagged", { tag: "a", value: 2 }),
        event("Renamed", { name: "mine" })
      ], options))
      expect(error._tag).toBe("ConcurrencyConflict")
      const conflict = error as Conflict.ConcurrencyConflict
      expect(conflict.streamId).toBe(id)
      expect(conflict.expectedVersion).toBe(1)
      expect(conflict.actualVersion).toBe(theirs.lastVersion)
      expect(
        conflict.conflicts.map((p) => [p.proposedIndex, p.proposedType, p.committedVersion, p.committedType])
      )
        .toEqual([[1, "Tagged", 3, "Tagged"], [2, "Renamed", 2, "Renamed"]])
      expect(yield* store.version(id)).toBe(3)
    }))

  it.effect("an expected version beyond the end is WrongExpectedVersion and writes nothing", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      const error = yield* Effect.flip(store.append(id, ExpectedVersion.exact(5), [event("Noted")], options))
      expect(error).toMatchObject({ _tag: "WrongExpectedVersion", expectedVersion: 5, actualVersion: 1 })
      const empty = yield* Effect.flip(store.append(id, ExpectedVersion.exact(2), [], options))
      expect(empty._tag).toBe("WrongExpectedVersion")
      expect(yield* store.version(id)).toBe(1)
    }))

  it.effect("any appends without a check", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created"), event("Deleted")], options)
      const result = yield* store.append(id, ExpectedVersion.any, [event("Created")], options)
      expect(result).toMatchObject({ firstVersion: 3, rebasedOver: 0 })
    }))

  it.effect("noStream makes a second creator meet the whole stream, and the registry decides", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      const error = yield* Effect.flip(store.append(id, ExpectedVersion.noStream, [event("Created")], options))
      expect(error).toMatchObject({ _tag: "ConcurrencyConflict", expectedVersion: 0, actualVersion: 1 })
      const note = yield* store.append(id, ExpectedVersion.noStream, [event("Noted", { note: "x" })], options)
      expect(note).toMatchObject({ firstVersion: 2, rebasedOver: 1 })
    }))

  it.effect("without a registry option a stale append of an unregistered type conflicts", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")])
      yield* store.append(id, ExpectedVersion.exact(1), [event("Noted")])
      const error = yield* Effect.flip(
        store.append(id, ExpectedVersion.exact(1), [event("Concord.Suite.Unregistered")])
      )
      expect(error._tag).toBe("ConcurrencyConflict")
    }))

  it.effect("a stale append past an event of a type its registry does not know conflicts, unless never", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      yield* store.append(id, ExpectedVersion.exact(1), [event("Noted"), event("Concord.Suite.Unknown")])
      // Noted lists only Deleted, and no rule can reason about a type it has never heard of.
      const error = yield* Effect.flip(store.append(id, ExpectedVersion.exact(1), [event("Noted")], options))
      expect(error).toMatchObject({
        _tag: "ConcurrencyConflict",
        conflicts: [{ proposedType: "Noted", committedVersion: 3, committedType: "Concord.Suite.Unknown" }]
      })
      // Viewed's rule is never.
      expect(yield* store.append(id, ExpectedVersion.exact(1), [event("Viewed")], options))
        .toMatchObject({ firstVersion: 4, rebasedOver: 2 })
      expect(yield* store.append(id, ExpectedVersion.exact(3), [event("Noted")], options))
        .toMatchObject({ firstVersion: 5, rebasedOver: 1 })
    }))

  // Registries of the test's own, brought to one append (one with a predicate that records what it is shown): only
  // a store that applies an append's `options.registry` can take them.
  if (perAppendRegistries) {
    it.effect("a stale append's registry is shown only the committed events after its expected version", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = yield* createdThenNotedAndTagged
        const examined: Array<unknown> = []
        const spying = registry.pipe(ConflictRegistry.conflictsWhen("Renamed", "Noted", (_, committed) => {
          examined.push((committed as { note: string }).note)
          return false
        }))
        // Noted at version 2 is before the expected version: only versions 3 and 4 may be examined.
        const result = yield* store.append(id, ExpectedVersion.exact(2), [event("Renamed", { name: "r" })], {
          registry: spying
        })
        expect(result).toEqual({ streamId: id, firstVersion: 5, lastVersion: 5, rebasedOver: 2 })
        expect(examined).toEqual(["b"])
      }))

    it.effect("options.registry overrides the store's registry for one append", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = freshStream()
        yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
        yield* store.append(id, ExpectedVersion.exact(1), [event("Renamed", { name: "a" })], options)
        const lenient = ConflictRegistry.untyped().pipe(ConflictRegistry.never("Renamed"))
        const strict = ConflictRegistry.untyped()
        const stale = [event("Renamed", { name: "b" })]
        expect((yield* Effect.flip(store.append(id, ExpectedVersion.exact(1), stale, options)))._tag)
          .toBe("ConcurrencyConflict")
        expect(yield* store.append(id, ExpectedVersion.exact(1), stale, { registry: lenient }))
          .toMatchObject({ firstVersion: 3, rebasedOver: 1 })
        yield* store.append(id, ExpectedVersion.exact(3), [event("Noted")], options)
        expect(
          (yield* Effect.flip(store.append(id, ExpectedVersion.exact(3), [event("Noted")], { registry: strict })))
            ._tag
        ).toBe("ConcurrencyConflict")
      }))
  }

  it.effect("an empty batch writes nothing and returns the current version", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created"), event("Renamed")], options)
      expect(yield* store.append(id, ExpectedVersion.exact(1), [], options)).toEqual({
        streamId: id,
        firstVersion: 3,
        lastVersion: 2,
        rebasedOver: 0
      })
      expect(yield* store.version(id)).toBe(2)
    }))

  it.effect("reads from a version with a limit", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(
        id,
        ExpectedVersion.noStream,
        Array.from({ length: 10 }, (_, i) => event("Noted", { i }))
      )
      const versions = (from?: number, limit?: number) =>
        Effect.map(
          Stream.runCollect(store.read(id, { from, limit })),
          (c) => Chunk.toArray(c).map((e) => e.version)
        )
      expect(yield* versions(4, 3)).toEqual([4, 5, 6])
      expect(yield* versions(9)).toEqual([9, 10])
      expect(yield* versions(11)).toEqual([])
      expect(yield* versions(undefined, 2)).toEqual([1, 2])
      expect(yield* versions(3, 0)).toEqual([])
    }))
}
