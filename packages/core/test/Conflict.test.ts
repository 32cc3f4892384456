import { Conflict, ConflictRegistry, Event, StreamId, StreamVersion } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Doc from "./fixtures/Document.js"

const empty = ConflictRegistry.make(Doc.DocumentEvent)
const registry = empty.pipe(
  ConflictRegistry.conflicts("TitleChanged", ["TitleChanged", "DocumentDeleted"]),
  ConflictRegistry.never("CommentAdded")
)

const pairKey = (pair: Conflict.ConflictingPair) => `${pair.proposedIndex}:${pair.committedVersion}`

describe("Conflict.detect", () => {
  it("names every clashing pair: proposed index and type, committed id, version and type", () => {
    const committed = Doc.committed([
      { _tag: "CommentAdded", section: "intro", text: "hi" },
      { _tag: "TitleChanged", title: "B" }
    ], 5)
    const proposed = Doc.proposed([
      { _tag: "CommentAdded", section: "intro", text: "me too" },
      { _tag: "TitleChanged", title: "C" }
    ])
    expect(Conflict.detect(registry, committed, proposed)).toEqual([
      {
        proposedIndex: 1,
        proposedType: "TitleChanged",
        committedId: "e7",
        committedVersion: 7,
        committedType: "TitleChanged"
      }
    ])
  })

  it("returns nothing when every proposed event may pass every committed one", () => {
    const committed = Doc.committed([{ _tag: "SectionEdited", section: "body", text: "x" }])
    const proposed = Doc.proposed([{ _tag: "TitleChanged", title: "T" }, {
      _tag: "CommentAdded",
      section: "a",
      text: ""
    }])
    expect(Conflict.detect(registry, committed, proposed)).toEqual([])
    expect(Conflict.hasConflict(registry, committed, proposed)).toBe(false)
  })

  it("a committed event of a type the registry does not know conflicts with every rule but never, without failing", () => {
    const committed = [{ id: Event.EventId.make("x1"), version: StreamVersion.make(1), type: "Imported", data: null }]
    // no rule, a listed rule, never
    expect(Conflict.detect(registry, committed, Doc.proposed([{ _tag: "SectionEdited", section: "a", text: "" }])))
      .toHaveLength(1)
    expect(Conflict.detect(registry, committed, Doc.proposed([{ _tag: "TitleChanged", title: "" }]))).toEqual([{
      proposedIndex: 0,
      proposedType: "TitleChanged",
      committedId: "x1",
      committedVersion: 1,
      committedType: "Imported"
    }])
    expect(Conflict.detect(registry, committed, Doc.proposed([{ _tag: "CommentAdded", section: "a", text: "" }])))
      .toEqual([])
  })

  it("ConcurrencyConflict carries the versions and the pairs, and says them", () => {
    const [committed] = Doc.committed([{ _tag: "TitleChanged", title: "" }], 5)
    const error = new Conflict.ConcurrencyConflict({
      streamId: StreamId.make("doc-1"),
      expectedVersion: StreamVersion.make(5),
      actualVersion: StreamVersion.make(6),
      conflicts: [{
        proposedIndex: 0,
        proposedType: "TitleChanged",
        committedId: committed!.id,
        committedVersion: StreamVersion.make(6),
        committedType: "TitleChanged"
      }],
      committedEvents: [{ ...committed!, metadata: {} }],
      committedEventsTruncated: false
    })
    expect(error._tag).toBe("ConcurrencyConflict")
    expect(error.message).toBe(
      "stream doc-1 is at version 6, the writer expected 5: TitleChanged (proposed #0) conflicts with TitleChanged (version 6)"
    )
  })

  describe("properties", () => {
    it.prop("no committed events: never a conflict", [Doc.registry, Doc.encodedEvents()], ([registry, proposed]) => {
      expect(Conflict.detect(registry, [], proposed)).toEqual([])
    })

    it.prop(
      "an empty registry is plain optimistic concurrency: every proposed event clashes with every committed one",
      [Doc.committedEvents(), Doc.encodedEvents()],
      ([committed, proposed]) => {
        const pairs = Conflict.detect(empty, committed, proposed)
        expect(pairs).toHaveLength(committed.length * proposed.length)
        expect(Conflict.hasConflict(empty, committed, proposed)).toBe(committed.length > 0 && proposed.length > 0)
      }
    )

    it.prop(
      "detection over concatenated committed events is the union of the parts",
      [Doc.registry, Doc.committedEvents(), fc.nat(), Doc.encodedEvents()],
      ([registry, committed, cut, proposed]) => {
        const at = committed.length === 0 ? 0 : cut % (committed.length + 1)
        const whole = Conflict.detect(registry, committed, proposed).map(pairKey)
        const parts = [
          ...Conflict.detect(registry, committed.slice(0, at), proposed),
          ...Conflict.detect(registry, committed.slice(at), proposed)
        ].map(pairKey)
        expect(new Set(whole)).toEqual(new Set(parts))
        expect(whole).toHaveLength(parts.length)
      }
    )

    it.prop(
      "committing more events never removes a conflict",
      [Doc.registry, Doc.committedEvents(), Doc.committedEvents(), Doc.encodedEvents()],
      ([registry, before, more, proposed]) => {
        const later = [...before, ...more.map((e, i) => ({ ...e, version: StreamVersion.make(before.length + i + 1) }))]
        const earlier = new Set(Conflict.detect(registry, before, proposed).map(pairKey))
        const now = new Set(Conflict.detect(registry, later, proposed).map(pairKey))
        for (const pair of earlier) expect(now.has(pair)).toBe(true)
      }
    )

    it.prop(
      "hasConflict agrees with detect",
      [Doc.registry, Doc.committedEvents(), Doc.encodedEvents()],
      ([registry, committed, proposed]) => {
        expect(Conflict.hasConflict(registry, committed, proposed)).toBe(
          Conflict.detect(registry, committed, proposed).length > 0
        )
      }
    )
  })
})
