// The warnings of slow appends and of conflicts past a threshold, on Effect's clock: driven here by the TestClock,
// through the handler every way of answering an append shares, and over HTTP on each of those ways.
import { EventStore, StreamId } from "@concord/core"
import { Api } from "@concord/server"
import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import {
  Context,
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
import * as nodeServer from "../src/internal/nodeServer.js"
import { crmRegistries } from "./support/openApi.js"

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

describe("the count of conflicts of a window", () => {
  it("is exact, and names the three streams with the most, while no more than 16 streams conflict", () =>
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 200 }), (streams) => {
      const counts = new appendWarnings.ConflictCounts()
      for (const stream of streams) counts.add(`s${stream}`)
      const exact = new Map<string, number>()
      for (const stream of streams) exact.set(`s${stream}`, (exact.get(`s${stream}`) ?? 0) + 1)
      const taken = counts.take()
      expect(taken.count).toBe(streams.length)
      expect(taken.streams.map(({ conflicts }) => conflicts)).toEqual(
        [...exact.values()].sort((a, b) => b - a).slice(0, 3)
      )
      for (const { conflicts, stream } of taken.streams) expect(conflicts).toBe(exact.get(stream))
      // A new window each time.
      expect(counts.take()).toEqual({ count: 0, streams: [] })
    })))

  it("keeps every stream with more than a sixteenth of the conflicts, in bounded memory, however many streams", () =>
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 2000, size: "max" }),
      fc.integer({ min: 0, max: 2000 }),
      (noise, heavy) => {
        const counts = new appendWarnings.ConflictCounts()
        // A stream with more than a sixteenth of the conflicts, among many others.
        const all = [...noise.map((n) => `n${n}`), ...Array.from({ length: heavy }, () => "heavy")]
        const shuffled = all.map((stream, i) => [stream, (i * 7919) % all.length] as const).sort((a, b) => a[1] - b[1])
        for (const [stream] of shuffled) counts.add(stream)
        expect((counts as unknown as { streams: Map<string, number> }).streams.size).toBeLessThanOrEqual(16)
        const taken = counts.take()
        expect(taken.count).toBe(all.length)
        if (heavy * 16 > all.length) expect(taken.streams.map(({ stream }) => stream)).toContain("heavy")
      }
    )))
})

describe("the warnings of appends, through the shared handler, on the TestClock", () => {
  const run = (
    options: Parameters<typeof appendWarnings.make>[0],
    body: (
      append: (stream: string, events: ReadonlyArray<unknown>, expected?: number | "any") => Effect.Effect<unknown>
    ) => Effect.Effect<void>
  ) => {
    const { layer, lines } = capture()
    return Effect.gen(function*() {
      const warnings = appendWarnings.make(options)
      yield* Layer.build(appendWarnings.layer(warnings))
      const store = yield* EventStore.EventStore
      const append = handlers.appendUnmarked(store, crmRegistries, warnings)
      yield* body((stream, events, expected = "any") =>
        Effect.exit(append(stream, StreamId.make(stream), decodeRequest({ expectedVersion: expected, events })))
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

  /** `count` conflicts: a registration, an upgrade, then each a downgrade-like upgrade behind it, on these streams. */
  const conflicts = (
    append: (stream: string, events: ReadonlyArray<unknown>, expected?: number | "any") => Effect.Effect<unknown>,
    perStream: Record<string, number>
  ) =>
    Effect.forEach(Object.entries(perStream), ([stream, count]) =>
      Effect.gen(function*() {
        yield* append(stream, [registered], "any")
        yield* append(stream, [upgrade(2)], 1)
        for (let i = 0; i < count; i++) {
          const exit = yield* append(stream, [upgrade(3)], 1)
          expect(Exit.isExit(exit) && Exit.isFailure(exit) ? "refused" : "accepted").toBe("refused")
        }
      }), { discard: true })

  it.scoped("warns once a minute of more conflicts than the threshold, naming the three streams with the most", () =>
    Effect.gen(function*() {
      const lines = yield* run({}, (append) =>
        Effect.gen(function*() {
          yield* conflicts(append, { "client-a": 5, "client-b": 1, "client-c": 3, "client-d": 2 })
          yield* TestClock.adjust(appendWarnings.conflictWindow)
          // Within the threshold: no warning at the end of this window.
          yield* conflicts(append, { "client-e": 10 })
          yield* TestClock.adjust(appendWarnings.conflictWindow)
          yield* TestClock.adjust(appendWarnings.conflictWindow)
        }))
      expect(warningsOf(lines, "conflicts past the threshold").map((line) => line.annotations)).toEqual([{
        conflicts: 11,
        threshold: 10,
        withinSeconds: 60,
        streams: [
          { stream: "client-a", conflicts: 5 },
          { stream: "client-c", conflicts: 3 },
          { stream: "client-d", conflicts: 2 }
        ]
      }])
    }))

  it.scoped("says nothing of conflicts with a threshold of 0", () =>
    Effect.gen(function*() {
      const lines = yield* run({ conflictWarningThreshold: 0 }, (append) =>
        Effect.gen(function*() {
          yield* conflicts(append, { "client-a": 30 })
          yield* TestClock.adjust(appendWarnings.conflictWindow)
        }))
      expect(warningsOf(lines, "conflicts past the threshold")).toEqual([])
    }))
})

describe("the warnings of appends over HTTP", () => {
  for (const way of ["node", "app", "general"] as const) {
    it.scoped(`warn of slow appends and conflicts answered the ${way} way`, () => {
      const { layer, lines } = capture()
      return Effect.gen(function*() {
        const context = yield* Layer.build(
          nodeServer.layer({
            host: "127.0.0.1",
            port: 0,
            requestTimeout: Duration.seconds(13),
            shutdownTimeout: Duration.seconds(2),
            registries: crmRegistries,
            conflictWarningThreshold: 2,
            nodeAppends: way === "node",
            fastAppends: way !== "general"
          }).pipe(Layer.provide(timedStore))
        )
        const { address } = Context.get(context, HttpServer.HttpServer)
        const url = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
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
        yield* TestClock.adjust(appendWarnings.conflictWindow)
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
