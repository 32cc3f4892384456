// Conflicts carry the committed events that clashed: exactly those of the pairs, once each, in version order, whole
// (id, type, data, metadata) as the store reads them back, at most Conflict.maxCommittedEvents of them.
import { Conflict, type Event, EventStore, ExpectedVersion, type StreamId } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { event, freshStream, options, readAll, type StoreTests } from "./fixtures.js"

/** A stored event as a conflict names it. */
const asConflicting = (event: Event.RecordedEvent): Conflict.ConflictingEvent => ({
  id: event.id,
  version: event.version,
  type: event.type,
  data: event.data,
  metadata: event.metadata
})

const staleConflict = (
  store: EventStore.Service,
  streamId: StreamId.StreamId,
  expected: number,
  events: ReadonlyArray<Event.EventData>
) =>
  Effect.flip(store.append(streamId, ExpectedVersion.exact(expected), events, options)).pipe(
    Effect.filterOrDieMessage(Conflict.isConcurrencyConflict, "expected a ConcurrencyConflict")
  )

export const conflictEvents = (it: StoreTests): void => {
  it.effect("a conflict carries exactly the committed events that clashed, once each, with their data", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      yield* store.append(id, ExpectedVersion.noStream, [event("Created", { name: "acme" })], options)
      // Joe and Harry both read version 1. Harry writes first; of his events only the rename and the tag `a` clash
      // with what Joe proposes.
      const by = { by: "harry" }
      yield* store.append(id, ExpectedVersion.exact(1), [
        { ...event("Noted", { note: "met" }), metadata: by },
        { ...event("Renamed", { name: "harry" }, `harry-rename-${id}`), metadata: by },
        event("Tagged", { tag: "b", value: 1 }),
        { ...event("Tagged", { tag: "a", value: 1 }), metadata: { by: "harry", why: ["upgrade"] } }
      ], options)
      const conflict = yield* staleConflict(store, id, 1, [
        event("Renamed", { name: "joe" }),
        event("Tagged", { tag: "a", value: 2 }),
        event("Renamed", { name: "joe again" })
      ])
      expect(conflict.conflicts.map((pair) => [pair.proposedIndex, pair.committedVersion]))
        .toEqual([[0, 3], [1, 5], [2, 3]])
      const log = yield* readAll(store, id)
      expect(conflict.committedEvents).toEqual([log[2]!, log[4]!].map(asConflicting))
      expect(conflict.committedEvents.map((committed) => [committed.type, committed.data, committed.metadata]))
        .toEqual([
          ["Renamed", { name: "harry" }, { by: "harry" }],
          ["Tagged", { tag: "a", value: 1 }, { by: "harry", why: ["upgrade"] }]
        ])
      expect(conflict.committedEvents[0]!.id).toBe(`harry-rename-${id}`)
      expect(conflict.committedEventsTruncated).toBe(false)
      expect(yield* store.version(id)).toBe(5)
    }))

  it.effect("past Conflict.maxCommittedEvents clashing events, it keeps the first ones by version and says so", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const id = freshStream()
      const max = Conflict.maxCommittedEvents
      yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
      yield* store.append(
        id,
        ExpectedVersion.exact(1),
        Array.from({ length: max + 30 }, (_, i) => event("Renamed", { name: `n${i}` })),
        options
      )
      const log = yield* readAll(store, id)
      const cut = yield* staleConflict(store, id, 1, [event("Renamed", { name: "late" })])
      expect(cut.conflicts).toHaveLength(max + 30)
      expect(cut.committedEvents).toEqual(log.slice(1, 1 + max).map(asConflicting))
      expect(cut.committedEventsTruncated).toBe(true)
      // Exactly the maximum: all of them, and nothing left out.
      const whole = yield* staleConflict(store, id, 31, [event("Renamed", { name: "late" })])
      expect(whole.committedEvents).toEqual(log.slice(31).map(asConflicting))
      expect(whole.committedEventsTruncated).toBe(false)
    }))
}
