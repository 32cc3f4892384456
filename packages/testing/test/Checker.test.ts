import { ConflictRegistry, Event, ExpectedVersion, Position, StreamId, StreamVersion } from "@concord/core"
import { Checker } from "@concord/testing"
import { EventStoreSuite } from "@concord/testing/vitest"
import { describe, expect, it } from "@effect/vitest"

const { fold, registry } = EventStoreSuite

const stream = StreamId.make("s-1")
const recorded = (version: number, id: string, type: string, data: unknown = {}): Event.RecordedEvent => ({
  id: Event.EventId.make(id),
  streamId: stream,
  version: StreamVersion.make(version),
  type,
  data,
  metadata: {},
  recordedAt: new Date(0),
  position: Position.make({ sequence: BigInt(version) })
})
const proposed = (id: string, type: string, data: unknown = {}) => ({ id: Event.EventId.make(id), type, data })
const acknowledged = (first: number, last: number, rebasedOver = 0) => ({
  _tag: "Acknowledged" as const,
  result: {
    streamId: stream,
    firstVersion: StreamVersion.make(first),
    lastVersion: StreamVersion.make(last),
    rebasedOver
  }
})
const attempt = (
  expected: number,
  events: ReadonlyArray<ReturnType<typeof proposed>>,
  outcome: Checker.Attempt["outcome"]
): Checker.Attempt => ({
  streamId: stream,
  expectedVersion: ExpectedVersion.exact(expected),
  events,
  registry,
  outcome
})

const sound = {
  logs: new Map([[stream as string, [recorded(1, "a", "Created"), recorded(2, "b", "Noted", { note: "x" })]]]),
  attempts: [
    attempt(0, [proposed("a", "Created")], acknowledged(1, 1)),
    attempt(1, [proposed("b", "Noted", { note: "x" })], acknowledged(2, 2)),
    attempt(1, [proposed("c", "Renamed")], { _tag: "Rejected", error: "ConcurrencyConflict" })
  ]
}

describe("Checker", () => {
  it("finds nothing wrong with a sound log", () => {
    expect(Checker.check({ ...sound, fold })).toEqual([])
  })

  it("reports a gap, a lost event, a stored rejection and a phantom event", () => {
    const logs = new Map([[stream as string, [
      recorded(1, "a", "Created"),
      recorded(3, "c", "Renamed"),
      recorded(4, "z", "X")
    ]]])
    const problems = Checker.check({ logs, attempts: sound.attempts })
    expect(problems).toEqual(expect.arrayContaining([
      "s-1: position 2 holds version 3",
      expect.stringContaining("was acknowledged but b is lost"),
      expect.stringContaining("was rejected (ConcurrencyConflict) but c is stored"),
      "event z is in the log but nobody appended it"
    ]))
  })

  it("reports a stale append accepted past an event its registry says it conflicts with", () => {
    const logs = new Map([[stream as string, [
      recorded(1, "a", "Created"),
      recorded(2, "b", "Renamed"),
      recorded(3, "c", "Renamed")
    ]]])
    const attempts = [
      attempt(0, [proposed("a", "Created")], acknowledged(1, 1)),
      attempt(1, [proposed("b", "Renamed")], acknowledged(2, 2)),
      attempt(1, [proposed("c", "Renamed")], acknowledged(3, 3, 1))
    ]
    expect(Checker.check({ logs, attempts })).toEqual([
      expect.stringContaining("was falsely accepted past Renamed@2")
    ])
    const lenient = attempts.map((a) => ({
      ...a,
      registry: ConflictRegistry.untyped().pipe(ConflictRegistry.never("Renamed"))
    }))
    expect(Checker.check({ logs, attempts: lenient })).toEqual([])
  })

  it("reports a duplicated event, a partly stored batch of unknown outcome and a wrong rebase count", () => {
    const logs = new Map([[stream as string, [
      recorded(1, "a", "Noted"),
      recorded(2, "a", "Noted"),
      recorded(3, "u1", "Noted")
    ]]])
    const attempts = [
      attempt(0, [proposed("a", "Noted")], acknowledged(1, 1, 3)),
      attempt(0, [proposed("u1", "Noted"), proposed("u2", "Noted")], { _tag: "Unknown" })
    ]
    const problems = Checker.check({ logs, attempts })
    expect(problems).toEqual(expect.arrayContaining([
      "event a is stored twice",
      expect.stringContaining("is partly stored: 1 of 2 events"),
      expect.stringContaining("reports rebasedOver 3 but went past 0")
    ]))
  })

  it("with a fold, reports a log whose state differs from the acknowledged events'", () => {
    const logs = new Map([[stream as string, [recorded(1, "a", "Created"), recorded(2, "b", "Noted", { note: "y" })]]])
    expect(Checker.check({ logs, attempts: sound.attempts.slice(0, 2), fold })).toEqual([
      "s-1: folding the log and folding the acknowledged events give different states"
    ])
  })
})
