// Reading the global log: every committed event in log order with the positions stream reads give them, `after`,
// `limit`, filters by type and category (an empty list matches none), pages, and options no store accepts.
import { EventStore, ExpectedVersion, Position, type StreamId } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Checker from "../../Checker.js"
import { event, logsOf, type StoreTests } from "./fixtures.js"
import { appendInTurn, essence, freshName, globalLog, ids, live, streamOf, takeWithin } from "./following.js"

/** Options whose types lie: what every store must refuse with InvalidArgument before reading anything. */
export const badReadOptions: ReadonlyArray<readonly [string, unknown]> = [
  ["options that are a string", "after 5"],
  ["options that are null", null],
  ["after as a string", { after: "5" }],
  ["after as a number", { after: 5 }],
  ["after as a bigint", { after: 5n }],
  ["after as a plain object", { after: { commit: 0n, sequence: 5n } }],
  ["after null", { after: null }],
  ["filter as a string", { filter: "client" }],
  ["filter null", { filter: null }],
  ["filter as a list", { filter: ["client"] }],
  ["filter.types as a string", { filter: { types: "Noted" } }],
  ["filter.types holding a number", { filter: { types: ["Noted", 1] } }],
  ["filter.types as a Set", { filter: { types: new Set(["Noted"]) } }],
  ["filter.categories as a string", { filter: { categories: "client" } }],
  ["filter.categories holding null", { filter: { categories: [null] } }]
]

export const readingAll = (it: StoreTests): void => {
  it.effect("readAll returns every committed event in log order, with the positions stream reads give them", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("all")
      const streams = [streamOf(category, 1), streamOf(category, 2), streamOf(category, 3)]
      // One writer: each append commits before the next begins, so the log's order is the order of the appends.
      const appended: Array<string> = []
      for (let round = 0; round < 6; round++) {
        const streamId = streams[(round * 2) % 3]!
        const batch = Array.from({ length: (round % 3) + 1 }, (_, i) => event("Noted", { round, i }))
        yield* store.append(streamId, ExpectedVersion.any, batch)
        appended.push(...(yield* logsOf(store, [streamId])).get(streamId)!.slice(-batch.length).map((e) => e.id))
      }
      const log = yield* globalLog(store)
      const reads = yield* logsOf(store, streams)
      Checker.assertLog({ log, streams: reads })
      const ours = log.filter((e) => streams.includes(e.streamId as StreamId.StreamId))
      expect(ids(ours)).toEqual(appended)
      // A stream read and the global log agree on everything, positions included.
      const byId = new Map([...reads.values()].flat().map((e) => [e.id, e] as const))
      expect(ours.map(essence)).toEqual(ours.map((e) => essence(byId.get(e.id)!)))
      for (const e of ours) expect(Position.isPosition(e.position)).toBe(true)
      expect((yield* globalLog(store, { filter: { categories: [category] } })).map(essence)).toEqual(ours.map(essence))
    })))

  it.effect("readAll after a position reads exactly what follows it, from the position or its string form", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("after")
      const filter = { categories: [category] }
      yield* appendInTurn(store, [streamOf(category, 1), streamOf(category, 2)], Array(7).fill("Noted"))
      const ours = yield* globalLog(store, { filter })
      expect(ours.length).toBe(7)
      for (let k = 0; k <= ours.length; k++) {
        const after = k === 0 ? Position.start : ours[k - 1]!.position
        const expected = ids(ours.slice(k))
        expect(ids(yield* globalLog(store, { after, filter }))).toEqual(expected)
        const checkpoint = Position.fromString(Position.toString(after))!
        expect(ids(yield* globalLog(store, { after: checkpoint, filter }))).toEqual(expected)
      }
      // After the last event of the whole log there is nothing, and the log read from after a position is its tail.
      const log = yield* globalLog(store)
      expect(yield* globalLog(store, { after: log[log.length - 1]!.position })).toEqual([])
      const middle = Math.floor(log.length / 2)
      expect(ids(yield* globalLog(store, { after: log[middle]!.position }))).toEqual(ids(log.slice(middle + 1)))
    })))

  it.effect("readAll's limit reads at most that many, read as a stream read's limit is", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const category = freshName("limit")
      const filter = { categories: [category] }
      yield* appendInTurn(store, [streamOf(category, 1), streamOf(category, 2)], Array(5).fill("Noted"))
      const ours = yield* globalLog(store, { filter })
      const cases: ReadonlyArray<readonly [number | undefined, number]> = [
        [0, 0],
        [-1, 0],
        [-Infinity, 0],
        [1, 1],
        [2.9, 2],
        [5, 5],
        [50, 5],
        [Infinity, 5],
        [Number.NaN, 5],
        [undefined, 5]
      ]
      for (const [limit, count] of cases) {
        expect(ids(yield* globalLog(store, { filter, limit })), String(limit)).toEqual(ids(ours.slice(0, count)))
      }
      expect(ids(yield* globalLog(store, { filter, limit: 2, after: ours[1]!.position }))).toEqual(
        ids(ours.slice(2, 4))
      )
    })))

  it.effect("filters by type, by category and by both; an empty list matches none", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const [a, b] = [freshName("cat"), freshName("cat")]
      const stem = freshName("Type")
      const [alpha, beta, gamma] = [`${stem}Alpha`, `${stem}Beta`, `${stem}Gamma`]
      // A stream id without "-" is its own category; one with more than one "-" is the part before the first.
      const streams = [streamOf(a, 1), streamOf(b, 1), streamOf(a, "x-2"), a as StreamId.StreamId, streamOf(`${a}y`, 1)]
      yield* appendInTurn(store, streams, [alpha, beta, gamma, alpha, beta, alpha, gamma, beta, alpha, beta, gamma])
      const log = yield* globalLog(store)
      const filters: ReadonlyArray<EventStore.Filter> = [
        {},
        { types: [alpha] },
        { types: [alpha, gamma] },
        { categories: [a] },
        { categories: [`${a}y`, b] },
        { types: [beta], categories: [a] },
        { types: [alpha, beta], categories: [a, b] },
        { types: [] },
        { categories: [] },
        { types: [], categories: [a] },
        { types: [alpha], categories: [] },
        { types: [`${stem}Delta`] },
        { categories: [freshName("none")] }
      ]
      for (const filter of filters) {
        const expected = log.filter(EventStore.matches(filter))
        const label = JSON.stringify(filter)
        expect(ids(yield* globalLog(store, { filter })), label).toEqual(ids(expected))
        // A subscriber with the filter catches up to the same events (those of this test, as others may append).
        const mine = expected.filter((e) => e.type.startsWith(stem))
        if (mine.length > 0) {
          const got = yield* takeWithin(store.subscribe({ filter }), expected.length, `subscriber ${label}`)
          expect(ids(got), label).toEqual(ids(expected))
        }
      }
      const typeCounts = [alpha, beta, gamma].map((type) => log.filter((e) => e.type === type).length)
      expect(typeCounts).toEqual([4, 4, 3])
      expect(log.filter(EventStore.matches({ categories: [a] })).length).toBe(7)
      expect(yield* globalLog(store, { filter: { types: [] } })).toEqual([])
    })))

  it.effect("readAll and subscribe read past a page: thousands of events in order, filtered or not", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const [many, other] = [freshName("many"), freshName("other")]
      const stem = freshName("Type")
      for (let batch = 0; batch < 25; batch++) {
        yield* store.append(
          streamOf(many, batch % 3),
          ExpectedVersion.any,
          Array.from({ length: 100 }, (_, i) => event(i % 7 === 0 ? `${stem}Seventh` : "Noted", { batch, i }))
        )
        if (batch % 4 === 0) {
          yield* store.append(
            streamOf(other, 1),
            ExpectedVersion.any,
            Array.from({ length: 100 }, () => event("Noted"))
          )
        }
      }
      const filter = { categories: [many] }
      const ours = yield* globalLog(store, { filter })
      expect(ours.length).toBe(2_500)
      Checker.assertSubscription({ delivered: ours, log: yield* globalLog(store), filter })
      expect(ids(yield* globalLog(store, { filter, limit: 1_234 }))).toEqual(ids(ours.slice(0, 1_234)))
      expect(ids(yield* globalLog(store, { filter, limit: 1_001, after: ours[999]!.position }))).toEqual(
        ids(ours.slice(1_000, 2_001))
      )
      const sevenths = yield* globalLog(store, { filter: { types: [`${stem}Seventh`] } })
      expect(ids(sevenths)).toEqual(ids(ours.filter((e) => e.type === `${stem}Seventh`)))
      const followed = yield* takeWithin(store.subscribe({ filter }), 2_500, "a subscriber catching up 2,500 events")
      expect(ids(followed)).toEqual(ids(ours))
    })))

  it.effect("options that are not what their types say fail readAll and subscribe with InvalidArgument", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const cases = [...badReadOptions, ["after \"end\" (subscribe only)", { after: "end" }] as const]
      for (const [label, options] of cases) {
        const error = yield* Effect.flip(Stream.runCollect(store.readAll(options as EventStore.ReadAllOptions)))
        expect(error, label).toMatchObject({ _tag: "InvalidArgument", operation: "readAll" })
        expect(error, label).toBeInstanceOf(EventStore.InvalidArgument)
      }
      for (const [label, options] of badReadOptions) {
        const error = yield* Effect.flip(
          takeWithin(store.subscribe(options as EventStore.SubscribeOptions), 1, `subscribe with ${label}`, "5 seconds")
        )
        expect(error, label).toMatchObject({ _tag: "InvalidArgument", operation: "subscribe" })
      }
      const limitError = yield* Effect.flip(
        Stream.runCollect(store.readAll({ limit: "5" } as unknown as EventStore.ReadAllOptions))
      )
      expect(limitError).toMatchObject({ _tag: "InvalidArgument", operation: "readAll" })
      // What the types allow is accepted, absent parts included.
      for (
        const options of [undefined, {}, { after: undefined, filter: undefined }, { filter: { types: undefined } }]
      ) {
        yield* globalLog(store, { ...options, limit: 1 })
      }
    })))
}
