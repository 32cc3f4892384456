import {
  Conflict,
  ConflictRegistry,
  Event,
  ExpectedVersion,
  StoreBackend,
  StreamId,
  StreamVersion
} from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Schema } from "effect"
import * as Doc from "./fixtures/Document.js"

const streamId = StreamId.make("doc-1")

/** A backend over a fixed committed log that writes nothing; it reads what `committedAfter` is asked, as stores do. */
const backendOver = (log: ReadonlyArray<Conflict.Committed>): StoreBackend.Backend => ({
  currentVersion: Effect.succeed(StreamVersion.make(log.length)),
  committedAfter: (version, except) =>
    Effect.succeed(log.slice(version).filter((event) => !except.includes(event.type))),
  findIds: () => Effect.succeed([]),
  write: () => Effect.void
})

const conflictOf = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  log: ReadonlyArray<Conflict.Committed>,
  expected: number,
  proposed: ReadonlyArray<Event.EventData>
) =>
  Effect.runSync(Effect.either(
    StoreBackend.append(backendOver(log), registry, streamId, ExpectedVersion.exact(expected), proposed)
  )).pipe(Either.flip, Either.getOrUndefined)

/** What the error must carry: the committed events of the pairs, once each, by version, whole. */
const expectedEvents = (log: ReadonlyArray<Conflict.Committed>, pairs: ReadonlyArray<Conflict.ConflictingPair>) => {
  const versions = new Set(pairs.map((pair) => pair.committedVersion))
  return log.filter((event) => versions.has(event.version)).map((event) => ({
    id: event.id,
    version: event.version,
    type: event.type,
    data: event.data,
    metadata: event.metadata ?? {}
  }))
}

const withMetadata = (log: ReadonlyArray<Conflict.Committed>) =>
  log.map((event, i) => i % 3 === 2 ? event : { ...event, metadata: { by: `writer-${i}` } })

/** A log of `count` committed events a proposed TitleChanged meets: every one a TitleChanged of its own title. */
const titles = (count: number) =>
  Doc.committed(Array.from({ length: count }, (_, i) => ({ _tag: "TitleChanged" as const, title: `t${i + 1}` })))

/** A log longer than the maximum, whose first events all clash with a proposed type the registry does not know. */
const pastTheMaximum = (committed: ReadonlyArray<Conflict.Committed>) => {
  const before = titles(Conflict.maxCommittedEvents + 5)
  return [
    ...before,
    ...committed.map((event, i) => ({
      ...event,
      id: Event.EventId.make(`x${i}`),
      version: StreamVersion.make(before.length + 1 + i)
    }))
  ]
}

const retitle = Doc.proposed([{ _tag: "TitleChanged", title: "mine" }])
const strict = ConflictRegistry.make(Doc.DocumentEvent)

describe("ConcurrencyConflict.committedEvents", () => {
  it("holds the committed events of the pairs, whole, and none that clash with nothing", () => {
    const registry = strict.pipe(
      ConflictRegistry.conflicts("TitleChanged", ["TitleChanged", "DocumentDeleted"]),
      ConflictRegistry.never("CommentAdded")
    )
    const log = withMetadata(Doc.committed([
      { _tag: "TitleChanged", title: "A" },
      { _tag: "CommentAdded", section: "intro", text: "hi" },
      { _tag: "TitleChanged", title: "B" },
      { _tag: "SectionEdited", section: "body", text: "x" }
    ]))
    const conflict = conflictOf(registry, log, 1, [...retitle, ...retitle])
    expect(conflict?._tag).toBe("ConcurrencyConflict")
    const { committedEvents, committedEventsTruncated } = conflict as Conflict.ConcurrencyConflict
    // Version 3 clashes with both proposed events and is there once; 2 and 4 are past the expected version but pass.
    expect(committedEvents).toEqual([
      { id: "e3", version: 3, type: "TitleChanged", data: { title: "B" }, metadata: {} }
    ])
    expect(committedEventsTruncated).toBe(false)
    const [committed] = committedEvents
    expect(Schema.decodeUnknownSync(Doc.DocumentEvent)({ _tag: committed!.type, ...committed!.data as object }))
      .toEqual({ _tag: "TitleChanged", title: "B" })
  })

  it("keeps at most maxCommittedEvents, the first by version, and says when it left some out", () => {
    const max = Conflict.maxCommittedEvents
    expect(max).toBe(100)
    const exactly = conflictOf(strict, titles(max), 0, retitle) as Conflict.ConcurrencyConflict
    expect(exactly.committedEvents.map((event) => event.version)).toEqual(titles(max).map((event) => event.version))
    expect(exactly.committedEventsTruncated).toBe(false)

    const log = titles(max + 50)
    const cut = conflictOf(strict, log, 10, retitle) as Conflict.ConcurrencyConflict
    expect(cut.conflicts).toHaveLength(140)
    expect(cut.committedEvents).toEqual(log.slice(10, 10 + max).map((event) => ({ ...event, metadata: {} })))
    expect(cut.committedEventsTruncated).toBe(true)
  })

  it("survives its encoded form, as the service sends it", () => {
    const conflict = conflictOf(strict, withMetadata(titles(3)), 1, retitle) as Conflict.ConcurrencyConflict
    const wire = JSON.parse(JSON.stringify(Schema.encodeSync(Conflict.ConcurrencyConflict)(conflict)))
    expect(wire.committedEvents).toEqual([
      { id: "e2", version: 2, type: "TitleChanged", data: { title: "t2" }, metadata: { by: "writer-1" } },
      { id: "e3", version: 3, type: "TitleChanged", data: { title: "t3" }, metadata: {} }
    ])
    expect(wire.committedEventsTruncated).toBe(false)
    const decoded = Schema.decodeUnknownSync(Conflict.ConcurrencyConflict)(wire)
    expect(Conflict.isConcurrencyConflict(decoded)).toBe(true)
    expect(decoded).toEqual(conflict)
  })

  it("decoded without its committed events (from a service of the release before them): none, and said to be cut", () => {
    const conflict = conflictOf(strict, withMetadata(titles(3)), 1, retitle) as Conflict.ConcurrencyConflict
    const { committedEvents: _events, committedEventsTruncated: _cut, ...older } = JSON.parse(
      JSON.stringify(Schema.encodeSync(Conflict.ConcurrencyConflict)(conflict))
    )
    const decoded = Schema.decodeUnknownSync(Conflict.ConcurrencyConflict)(older)
    expect(decoded.conflicts).toEqual(conflict.conflicts)
    expect(decoded.committedEvents).toEqual([])
    expect(decoded.committedEventsTruncated).toBe(true)
  })

  it.prop(
    "for any registry, log and batch: exactly the clashing committed events, by version, cut at the maximum",
    [Doc.registry, Doc.committedEvents(12), fc.nat(), Doc.encodedEvents(4), fc.boolean()],
    ([registry, committed, from, proposed, long]) => {
      const log = withMetadata(long ? pastTheMaximum(committed) : committed)
      const expected = log.length === 0 ? 0 : from % log.length
      const conflict = conflictOf(registry, log, expected, proposed)
      if (conflict?._tag !== "ConcurrencyConflict") return
      const all = expectedEvents(log, conflict.conflicts)
      expect(conflict.committedEvents).toEqual(all.slice(0, Conflict.maxCommittedEvents))
      expect(conflict.committedEventsTruncated).toBe(all.length > Conflict.maxCommittedEvents)
    }
  )
})
