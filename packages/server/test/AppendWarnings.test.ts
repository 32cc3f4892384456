// The warnings of slow appends and of conflicts past a threshold, on Effect's clock: the window of conflicts against a
// model of it, then driven by the TestClock through the handler every way of answering an append shares, and over
// HTTP on each of those ways (the conflict warning comes with the append past the threshold, no clock moved).
import { EventStore, StreamId } from "@concord/core"
import { Api } from "@concord/server"
import { describe, expect, it } from "@effect/vitest"
import {
  Duration,
  Effect,
  Exit,
  FastCheck as fc,
  HashMap,
  Layer,
  Logger,
  type LogLevel,
  Schema,
  TestClock
} from "effect"
import * as appendWarnings from "../src/internal/appendWarnings.js"
import * as handlers from "../src/internal/handlers.js"
import { crmRegistries } from "./support/openApi.js"
import { nodeServiceUrl } from "./support/service.js"

interface Line {
  readonly level: LogLevel.LogLevel["label"]
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

/** Every line logged where this logger is, the TestClock's own reminder left out. */
const capture = () => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    const text = Array.isArray(message) ? message[0] : message
    if (typeof text === "string" && text.includes("TestClock")) return
    lines.push({
      level: logLevel.label,
      message: text,
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const warningsOf = (lines: ReadonlyArray<Line>, message: string) =>
  lines.filter((line) => line.level === "WARN" && line.message === message)

/**
 * The memory store, whose appends to a stream named `slow-…` take 2 seconds of the TestClock (it moves the clock
 * itself, so nothing waits) and to `exact-…` exactly the default threshold.
 */
const timedStore = Layer.effect(
  EventStore.EventStore,
  Effect.map(EventStore.EventStore, (store): EventStore.Service => ({
    ...store,
    append: (streamId, ...rest) => {
      const took = streamId.startsWith("slow-") ? "2 seconds" : streamId.startsWith("exact-") ? "1 second" : undefined
      return took === undefined ? store.append(streamId, ...rest) : Effect.zipRight(
        TestClock.adjust(took),
        store.append(streamId, ...rest)
      )
    }
  }))
).pipe(Layer.provide(EventStore.layerMemory()))

const decodeRequest = Schema.decodeUnknownSync(Api.AppendRequest)

const note = { type: "MeetingNoteAdded", data: { noteId: "n", author: "a", text: "t" } }
const registered = { type: "ClientRegistered", data: { name: "a", value: 1 } }
const upgrade = (value: number) => ({ type: "ClientValueUpgraded", data: { value } })

describe("the count of conflicts of a step", () => {
  it("is exact while no more than 16 streams conflict", () =>
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 200 }), (streams) => {
      const counts = new appendWarnings.ConflictCounts()
      for (const stream of streams) counts.add(`s${stream}`)
      const exact = countsOf(streams.map((stream) => `s${stream}`))
      expect(counts.count).toBe(streams.length)
      expect(new Set(counts.kept())).toEqual(new Set(exact.keys()))
      for (let stream = 0; stream < 17; stream++) expect(counts.bound(`s${stream}`)).toBe(exact.get(`s${stream}`) ?? 0)
      counts.clear()
      expect([counts.count, [...counts.kept()], counts.bound("s0")]).toEqual([0, [], 0])
    })))

  it("keeps every stream with more than a sixteenth of the conflicts, each bound at least its count, however many", () =>
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 2000, size: "max" }),
      fc.integer({ min: 0, max: 2000 }),
      (noise, heavy) => {
        const counts = new appendWarnings.ConflictCounts()
        const all = shuffle([...noise.map((n) => `n${n}`), ...Array.from({ length: heavy }, () => "heavy")])
        for (const stream of all) counts.add(stream)
        expect([...counts.kept()].length).toBeLessThanOrEqual(16)
        expect(counts.count).toBe(all.length)
        if (heavy * 16 > all.length) expect([...counts.kept()]).toContain("heavy")
        for (const [stream, count] of countsOf(all)) expect(counts.bound(stream)).toBeGreaterThanOrEqual(count)
      }
    )))
})

/** How many times each name occurs. */
const countsOf = (names: ReadonlyArray<string>) => {
  const counts = new Map<string, number>()
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1)
  return counts
}

/** The same names in an order that mixes them, the same every time. */
const shuffle = <A>(all: ReadonlyArray<A>) =>
  all.map((item, i) => [item, (i * 7919) % all.length] as const).sort((a, b) => a[1] - b[1]).map(([item]) => item)

/** The three streams with the most conflicts, most first, then by name, with their counts. */
const topOf = (names: ReadonlyArray<string>) =>
  [...countsOf(names)].map(([stream, conflicts]) => ({ stream, conflicts }))
    .sort((a, b) => b.conflicts - a.conflicts || (a.stream < b.stream ? -1 : 1)).slice(0, 3)

describe("the window of conflicts", () => {
  const step = 10_000

  it("warns as its model says: past the threshold within the current step and the five before, once a minute", () =>
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.nat({ max: 25_000 })), { maxLength: 300 }),
      (threshold, conflicts) => {
        const window = new appendWarnings.ConflictWindow(threshold)
        const seen: Array<{ readonly stream: string; readonly at: number }> = []
        let now = 0
        let warnedAt: number | undefined
        for (const [n, wait] of conflicts) {
          now += wait
          const stream = `s${n}`
          seen.push({ stream, at: now })
          const current = Math.floor(now / step)
          const within = seen.filter(({ at }) => Math.floor(at / step) > current - 6).map((c) => c.stream)
          const due = within.length > threshold && (warnedAt === undefined || now - warnedAt >= 60_000)
          if (due) warnedAt = now
          expect(window.add(stream, now)).toEqual(
            due ? { conflicts: within.length, streams: topOf(within) } : undefined
          )
        }
      }
    )))

  it("names, in bounded memory, every stream with more than a sixteenth of its conflicts, however many streams", () =>
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.nat({ max: 3000 })), { maxLength: 1500, size: "max" }),
      fc.integer({ min: 0, max: 1500 }),
      (noise, heavy) => {
        const window = new appendWarnings.ConflictWindow(1_000_000)
        const all = shuffle([
          ...noise.map(([n, wait]) => [`n${n}`, wait] as const),
          ...Array.from({ length: heavy }, (_, i) => ["heavy", (i * 31) % 3000] as const)
        ])
        // Within one window: no step leaves it.
        let now = 0
        for (const [stream, wait] of all) window.add(stream, now += Math.min(wait, 50_000 / (all.length + 1)))
        const named = window.top(100)
        expect(named.length).toBeLessThanOrEqual(16 * appendWarnings.conflictSlots)
        if (heavy * 16 > all.length) expect(named.map(({ stream }) => stream)).toContain("heavy")
        const exact = countsOf(all.map(([stream]) => stream))
        for (const { conflicts, stream } of named) expect(conflicts).toBeGreaterThanOrEqual(exact.get(stream)!)
      }
    )))

  it("forgets a step once it left the window, however long ago the last conflict was", () => {
    const window = new appendWarnings.ConflictWindow(2)
    expect([window.add("a", 0), window.add("a", 1_000)]).toEqual([undefined, undefined])
    // 60 seconds later the first step has left: two in the window, no more.
    expect(window.add("b", 60_000)).toBeUndefined()
    expect(window.add("b", 60_001)).toBeUndefined()
    // Long after: the ring is emptied however many steps passed.
    expect(window.add("c", 10_000_000)).toBeUndefined()
    expect(window.add("c", 10_000_001)).toBeUndefined()
    expect(window.add("c", 10_000_002)).toEqual({ conflicts: 3, streams: [{ stream: "c", conflicts: 3 }] })
  })
})

describe("the warnings of appends, through the shared handler, on the TestClock", () => {
  type Append = (stream: string, events: ReadonlyArray<unknown>, expected?: number | "any") => Effect.Effect<unknown>
  const run = (
    options: Parameters<typeof appendWarnings.make>[0],
    body: (append: Append, lines: ReadonlyArray<Line>) => Effect.Effect<void>
  ) => {
    const { layer, lines } = capture()
    return Effect.gen(function*() {
      const warnings = appendWarnings.make(options)
      const store = yield* EventStore.EventStore
      const append = handlers.appendUnmarked(store, crmRegistries, warnings)
      yield* body(
        (stream, events, expected = "any") =>
          Effect.exit(append(stream, StreamId.make(stream), decodeRequest({ expectedVersion: expected, events }))),
        lines
      )
      return lines
    }).pipe(Effect.provide(Layer.merge(timedStore, layer)))
  }

  it.scoped("warns of an append whose store call took longer than the threshold, with its outcome", () =>
    Effect.gen(function*() {
      const lines = yield* run({}, (append) =>
        Effect.gen(function*() {
          yield* append("slow-a", [note, note])
          yield* append("exact-a", [note])
          yield* append("fast-a", [note])
        }))
      expect(warningsOf(lines, "slow append").map((line) => line.annotations)).toEqual([
        { stream: "slow-a", events: 2, durationMs: 2000, outcome: "accepted" }
      ])
      const { lines: off } = {
        lines: yield* run({ slowAppendThreshold: Duration.infinity }, (a) => a("slow-b", [note]))
      }
      expect(warningsOf(off, "slow append")).toEqual([])
      const { lines: low } = { lines: yield* run({ slowAppendThreshold: "500 millis" }, (a) => a("exact-b", [note])) }
      expect(warningsOf(low, "slow append").map((line) => line.annotations.stream)).toEqual(["exact-b"])
    }))

  /** A registration then an upgrade on each stream, so that an upgrade expecting version 1 conflicts. */
  const prepare = (append: Append, streams: ReadonlyArray<string>) =>
    Effect.forEach(
      streams,
      (stream) => Effect.zipRight(append(stream, [registered], "any"), append(stream, [upgrade(2)], 1)),
      { discard: true }
    )

  /** `count` conflicts on each of these prepared streams, in this order. */
  const conflicts = (append: Append, perStream: Record<string, number>) =>
    Effect.forEach(Object.entries(perStream), ([stream, count]) =>
      Effect.gen(function*() {
        for (let i = 0; i < count; i++) {
          const exit = yield* append(stream, [upgrade(3)], 1)
          expect(Exit.isExit(exit) && Exit.isFailure(exit) ? "refused" : "accepted").toBe("refused")
        }
      }), { discard: true })

  const conflictWarnings = (lines: ReadonlyArray<Line>) =>
    warningsOf(lines, "conflicts past the threshold").map((line) => line.annotations)

  const warning = (count: number, streams: Record<string, number>, threshold = 10) => ({
    conflicts: count,
    threshold,
    withinSeconds: 60,
    streams: Object.entries(streams).map(([stream, conflicts]) => ({ stream, conflicts }))
  })

  it.scoped("warns at once of the conflict past the threshold, naming the three streams with the most", () =>
    Effect.gen(function*() {
      yield* run({}, (append, lines) =>
        Effect.gen(function*() {
          yield* prepare(append, ["client-a", "client-b", "client-c", "client-d"])
          // Exactly the threshold: no warning.
          yield* conflicts(append, { "client-a": 5, "client-b": 1, "client-c": 3, "client-d": 1 })
          expect(conflictWarnings(lines)).toEqual([])
          yield* conflicts(append, { "client-d": 1 })
          expect(conflictWarnings(lines)).toEqual([warning(11, { "client-a": 5, "client-c": 3, "client-d": 2 })])
        }))
    }))

  it.scoped("warns at once of a burst split across what used to be the end of a minute", () =>
    Effect.gen(function*() {
      yield* run({}, (append, lines) =>
        Effect.gen(function*() {
          yield* prepare(append, ["client-a", "client-b"])
          yield* TestClock.adjust("55 seconds")
          yield* conflicts(append, { "client-a": 6 })
          yield* TestClock.adjust("10 seconds")
          yield* conflicts(append, { "client-b": 5 })
          expect(conflictWarnings(lines)).toEqual([warning(11, { "client-a": 6, "client-b": 5 })])
        }))
    }))

  it.scoped("warns once within a minute, again a minute after if conflicts go on, and forgets the old ones", () =>
    Effect.gen(function*() {
      yield* run({ conflictWarningThreshold: 3 }, (append, lines) =>
        Effect.gen(function*() {
          yield* prepare(append, ["client-a", "client-b", "client-c"])
          yield* conflicts(append, { "client-a": 4 })
          yield* TestClock.adjust("30 seconds")
          yield* conflicts(append, { "client-b": 4 })
          yield* TestClock.adjust("29 seconds")
          yield* conflicts(append, { "client-b": 1 })
          expect(conflictWarnings(lines)).toEqual([warning(4, { "client-a": 4 }, 3)])
          // A minute after the warning: those of the first ten seconds have left the window.
          yield* TestClock.adjust("1 second")
          yield* conflicts(append, { "client-c": 1 })
          expect(conflictWarnings(lines)).toEqual([
            warning(4, { "client-a": 4 }, 3),
            warning(6, { "client-b": 5, "client-c": 1 }, 3)
          ])
          // Quiet for a minute, then conflicts within the threshold: nothing.
          yield* TestClock.adjust("61 seconds")
          yield* conflicts(append, { "client-c": 3 })
          expect(conflictWarnings(lines)).toHaveLength(2)
        }))
    }))

  it.scoped("warns of a slow append that conflicts both ways", () =>
    Effect.gen(function*() {
      const lines = yield* run({ conflictWarningThreshold: 1 }, (append) =>
        Effect.gen(function*() {
          yield* prepare(append, ["slow-c"])
          yield* conflicts(append, { "slow-c": 2 })
        }))
      expect(warningsOf(lines, "slow append").map((line) => line.annotations.outcome)).toEqual([
        "accepted",
        "accepted",
        "conflict",
        "conflict"
      ])
      expect(conflictWarnings(lines)).toEqual([warning(2, { "slow-c": 2 }, 1)])
    }))

  it.scoped("says nothing of conflicts with a threshold of 0", () =>
    Effect.gen(function*() {
      const lines = yield* run({ conflictWarningThreshold: 0 }, (append) =>
        Effect.gen(function*() {
          yield* prepare(append, ["client-a"])
          yield* conflicts(append, { "client-a": 30 })
          yield* TestClock.adjust(appendWarnings.conflictWindow)
          yield* conflicts(append, { "client-a": 30 })
        }))
      expect(conflictWarnings(lines)).toEqual([])
    }))
})

describe("the warnings of appends over HTTP", () => {
  for (const way of ["node", "app", "general"] as const) {
    it.scoped(`warn of slow appends and conflicts answered the ${way} way`, () => {
      const { layer, lines } = capture()
      return Effect.gen(function*() {
        const url = yield* nodeServiceUrl({
          registries: crmRegistries,
          conflictWarningThreshold: 2,
          nodeAppends: way === "node",
          fastAppends: way !== "general"
        }, timedStore)
        const post = (stream: string, body: unknown) =>
          Effect.promise(() =>
            fetch(`${url}/streams/${stream}/events`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(body)
            }).then((response) => response.status)
          )
        expect(yield* post(`slow-${way}`, { expectedVersion: "any", events: [note] })).toBe(200)
        const stream = `client-${way}`
        expect(yield* post(stream, { expectedVersion: "noStream", events: [registered] })).toBe(200)
        expect(yield* post(stream, { expectedVersion: 1, events: [upgrade(2)] })).toBe(200)
        for (let i = 0; i < 3; i++) expect(yield* post(stream, { expectedVersion: 1, events: [upgrade(3)] })).toBe(409)
        expect(warningsOf(lines, "slow append").map((line) => line.annotations)).toEqual([
          { stream: `slow-${way}`, events: 1, durationMs: 2000, outcome: "accepted" }
        ])
        expect(warningsOf(lines, "conflicts past the threshold").map((line) => line.annotations)).toEqual([
          { conflicts: 3, threshold: 2, withinSeconds: 60, streams: [{ stream, conflicts: 3 }] }
        ])
        // Appends say nothing at the default level: their detail is debug now.
        expect(lines.filter((line) => line.level === "INFO")).toEqual([])
      }).pipe(Effect.provide(layer))
    })
  }
})
