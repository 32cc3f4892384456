import { Event, EventStore, Position, StreamId, StreamVersion } from "@concord/core"
import { Checker } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"

const recorded = (
  stream: string,
  version: number,
  type: string,
  sequence: number,
  commit = 0
): Event.RecordedEvent => ({
  id: Event.EventId.make(`${stream}/${version}`),
  streamId: StreamId.make(stream),
  version: StreamVersion.make(version),
  type,
  data: {},
  metadata: {},
  recordedAt: new Date(0),
  position: Position.make({ commit: BigInt(commit), sequence: BigInt(sequence) })
})

// Two categories, interleaved; positions 1..6.
const log = [
  recorded("a-1", 1, "Created", 1),
  recorded("b-1", 1, "Created", 2),
  recorded("a-1", 2, "Noted", 3),
  recorded("a-2", 1, "Noted", 4),
  recorded("b-1", 2, "Noted", 5),
  recorded("a-1", 3, "Renamed", 6)
]
const [a1v1, b1v1, a1v2, a2v1, b1v2, a1v3] = log as [
  Event.RecordedEvent,
  Event.RecordedEvent,
  Event.RecordedEvent,
  Event.RecordedEvent,
  Event.RecordedEvent,
  Event.RecordedEvent
]
const streams = new Map([
  ["a-1", [a1v1, a1v2, a1v3]],
  ["a-2", [a2v1]],
  ["b-1", [b1v1, b1v2]]
])

describe("Checker.auditSubscription", () => {
  it("finds nothing wrong with a subscriber that got every matching event once, in order", () => {
    expect(Checker.auditSubscription({ delivered: log, log })).toEqual([])
    const filter = { categories: ["a"] }
    expect(Checker.auditSubscription({ delivered: [a1v1, a1v2, a2v1, a1v3], log, filter })).toEqual([])
    expect(
      Checker.auditSubscription({ delivered: [a1v2, a2v1], log, filter: { types: ["Noted"] }, through: a2v1.position })
    )
      .toEqual([])
    expect(Checker.auditSubscription({ delivered: [b1v2, a1v3], log, after: a2v1.position })).toEqual([])
    expect(() => Checker.assertSubscription({ delivered: log, log })).not.toThrow()
  })

  it("reports a skipped event, naming the later one that was delivered", () => {
    expect(Checker.auditSubscription({ delivered: [a1v1, b1v1, a2v1, b1v2, a1v3], log })).toEqual([
      "skipped a-1@2 (Noted, position 3): a-1@3 (Renamed, position 6), later in the log, was delivered"
    ])
  })

  it("reports a subscriber that did not catch up, apart from one that skipped", () => {
    expect(Checker.auditSubscription({ delivered: [a1v1, b1v1], log, filter: { categories: ["b"] } })).toEqual([
      "delivered a-1@1 (Created, position 1), which its filter excludes",
      "never delivered b-1@2 (Noted, position 5): the last delivered was b-1@1 (Created, position 2)"
    ])
    expect(Checker.auditSubscription({ delivered: [], log, filter: { types: ["Renamed"] } })).toEqual([
      "never delivered a-1@3 (Renamed, position 6): nothing was delivered"
    ])
  })

  it("reports a duplicate, as at the switch from catching up to live", () => {
    expect(Checker.auditSubscription({ delivered: [a1v1, b1v1, a1v2, a1v2, a2v1, b1v2, a1v3], log })).toEqual([
      "delivered a-1@2 (Noted, position 3) twice",
      "delivered a-1@2 (Noted, position 3) after a-1@2 (Noted, position 3): positions must strictly increase",
      "delivered a-1@2 (Noted, position 3) after a-1@2 (Noted, position 3): a stream's events come in version order"
    ])
  })

  it("reports events out of order, and a stream out of version order", () => {
    const problems = Checker.auditSubscription({ delivered: [a1v1, a1v2, b1v1, a2v1, b1v2, a1v3], log })
    expect(problems).toEqual([
      "delivered b-1@1 (Created, position 2) after a-1@2 (Noted, position 3): positions must strictly increase"
    ])
    const swapped = [a1v1, b1v1, { ...a1v3, position: a1v2.position }, a2v1, b1v2, { ...a1v2, position: a1v3.position }]
    expect(Checker.auditSubscription({ delivered: swapped, log })).toEqual(expect.arrayContaining([
      expect.stringContaining(
        "delivered a-1@3 (Renamed, position 3), which the log has as a-1@3 (Renamed, position 6)"
      ),
      "delivered a-1@2 (Noted, position 6) after a-1@3 (Renamed, position 3): a stream's events come in version order"
    ]))
  })

  it("reports an event not in the log, one delivered before the start, and one without a position", () => {
    const stranger = recorded("c-1", 1, "Created", 7)
    const positionless = { ...a1v3, position: undefined } as unknown as Event.RecordedEvent
    const delivered = [a1v2, a2v1, b1v2, positionless, stranger]
    expect(Checker.auditSubscription({ delivered, log, after: a1v2.position })).toEqual([
      "delivered a-1@2 (Noted, position 3), not after its start 3",
      "delivered a-1@3 (Renamed, no position), which the log has as a-1@3 (Renamed, position 6)",
      "delivered a-1@3 (Renamed, no position) without a position",
      "delivered a-1@3 (Renamed, no position) after b-1@2 (Noted, position 5): positions must strictly increase",
      "delivered c-1@1 (Created, position 7), which is not in the log",
      "delivered c-1@1 (Created, position 7) after a-1@3 (Renamed, no position): positions must strictly increase"
    ])
  })

  it("assertSubscription throws with the problems, the first twenty in full", () => {
    const many = Array.from({ length: 30 }, (_, i) => recorded("m-1", i + 1, "Noted", i + 1))
    expect(() => Checker.assertSubscription({ delivered: [], log: many }, "the late subscriber")).toThrow(
      /^the late subscriber broke the read side's law \(30 problems\):\n {2}never delivered m-1@1 [^]*\n {2}… and 10 more$/
    )
  })

  // Any honest delivery passes; dropping, repeating or swapping one event of it never does.
  const scenario = fc.record({
    types: fc.array(fc.constantFrom("Created", "Noted", "Renamed"), { minLength: 1, maxLength: 40 }),
    categories: fc.array(fc.constantFrom("a", "b", "c"), { minLength: 40, maxLength: 40 }),
    filter: fc.record({
      types: fc.option(fc.subarray(["Created", "Noted", "Renamed"]), { nil: undefined }),
      categories: fc.option(fc.subarray(["a", "b", "c"]), { nil: undefined })
    }, { requiredKeys: [] })
  }).map(({ categories, filter, types }) => {
    const versions = new Map<string, number>()
    const events = types.map((type, i) => {
      const stream = `${categories[i]}-1`
      const version = (versions.get(stream) ?? 0) + 1
      versions.set(stream, version)
      // Commits step now and then, as PostgreSQL's transaction ids do.
      return recorded(stream, version, type, 100 + i, Math.floor(i / 7) * 1000)
    })
    return { events, filter: filter as EventStore.Filter }
  })

  it.prop("an honest delivery passes, whatever the filter", [scenario], ([{ events, filter }]) => {
    const delivered = events.filter(EventStore.matches(filter))
    expect(Checker.auditSubscription({ delivered, log: events, filter })).toEqual([])
  })

  it.prop(
    "dropping, repeating or swapping one delivered event is always reported",
    [scenario, fc.nat(), fc.constantFrom("drop", "repeat", "swap")],
    ([{ events, filter }, pick, mutation]) => {
      const delivered = events.filter(EventStore.matches(filter))
      fc.pre(delivered.length >= (mutation === "swap" ? 2 : 1))
      const i = pick % (mutation === "swap" ? delivered.length - 1 : delivered.length)
      const broken = [...delivered]
      if (mutation === "drop") broken.splice(i, 1)
      if (mutation === "repeat") broken.splice(i, 0, delivered[i]!)
      if (mutation === "swap") [broken[i], broken[i + 1]] = [broken[i + 1]!, broken[i]!]
      expect(Checker.auditSubscription({ delivered: broken, log: events, filter })).not.toEqual([])
    }
  )
})

describe("Checker.auditLog", () => {
  it("finds nothing wrong with a sound log and its streams", () => {
    expect(Checker.auditLog({ log, streams })).toEqual([])
    // Streams not given are not judged, but the log's order still is.
    expect(Checker.auditLog({ log, streams: new Map([["b-1", [b1v1, b1v2]]]) })).toEqual([])
    expect(() => Checker.assertLog({ log, streams })).not.toThrow()
  })

  it("reports a log out of order, a repeated event and a stream out of version order", () => {
    expect(Checker.auditLog({ log: [a1v1, a1v2, b1v1, a2v1, b1v2, a1v3], streams })).toEqual([
      "the global log has b-1@1 (Created, position 2) after a-1@2 (Noted, position 3): positions must strictly increase"
    ])
    expect(Checker.auditLog({ log: [...log, a1v3], streams })).toEqual([
      "the global log holds a-1@3 (Renamed, position 6) twice",
      "the global log has a-1@3 (Renamed, position 6) after a-1@3 (Renamed, position 6): positions must strictly increase",
      "the global log has a-1@3 (Renamed, position 6) after a-1@3 (Renamed, position 6) of its stream"
    ])
  })

  it("reports a stream's event missing from the log, at another position, or in the log but not the stream", () => {
    const moved = { ...a2v1, position: Position.make({ sequence: 40n }) }
    const problems = Checker.auditLog({
      log: [a1v1, b1v1, a1v2, a2v1, a1v3],
      streams: new Map([["a-1", [a1v1, a1v2]], ["a-2", [moved]], ["b-1", [b1v1, b1v2]]])
    })
    expect(problems).toEqual([
      "the global log has a-1@3 (Renamed, position 6), which a read of its stream does not",
      "a-2@1 (Noted, position 40), as its stream's read has it, is a-2@1 (Noted, position 4) in the global log",
      "b-1@2 is read from its stream but is not in the global log"
    ])
    expect(() => Checker.assertLog({ log: [a1v2], streams })).toThrow(
      /^the global log is not sound \(6 problems\):\n {2}the global log has a-1@2 \(Noted, position 3\) after no event of its stream\n/
    )
  })
})
