/**
 * The conformance suite every `EventStore` Layer must pass: the append semantics, idempotency, atomic batches, bad
 * input, and concurrency under many fibers and under fast-check's scheduler, each run checked by the independent
 * {@link Checker}.
 *
 * @since 0.1.0
 */
import {
  Conflict,
  ConflictRegistry,
  Event,
  EventStore,
  ExpectedVersion,
  StreamId,
  type StreamVersion
} from "@concord/core"
import { describe, expect, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import type * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Checker from "./Checker.js"

/**
 * The suite's own domain, in encoded form: `Created` and `Deleted` conflict with everything, `Renamed` conflicts
 * with itself and `Deleted`, `Noted` only with `Deleted`, `Tagged` only with a `Tagged` of the same tag. Every
 * other type is unknown to it, so it conflicts with every rule but `never`.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const registry = ConflictRegistry.untyped().pipe(
  ConflictRegistry.always("Created"),
  ConflictRegistry.always("Deleted"),
  ConflictRegistry.conflicts("Renamed", ["Renamed", "Deleted"]),
  ConflictRegistry.conflicts("Noted", ["Deleted"]),
  ConflictRegistry.conflicts("Tagged", ["Deleted"]),
  ConflictRegistry.conflictsWhen("Tagged", "Tagged", ConflictRegistry.sameKey("tag"))
)

/**
 * The state of a stream of the suite's domain: the last name, every note and the value of every tag. Notes and tags
 * commute under the registry, so folding the log must equal folding the acknowledged events.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const fold: Checker.Fold<string> = {
  initialState: JSON.stringify({ name: null, notes: [], tags: {} }),
  evolve: (encoded, event) => {
    const state = JSON.parse(encoded) as { name: unknown; notes: Array<string>; tags: Record<string, unknown> }
    const data = event.data as Record<string, unknown>
    if (event.type === "Renamed") state.name = data.name
    if (event.type === "Noted") state.notes = [...state.notes, String(data.note)].sort()
    if (event.type === "Tagged") state.tags[String(data.tag)] = data.value
    return JSON.stringify({ ...state, tags: Object.fromEntries(Object.entries(state.tags).sort()) })
  }
}

let streams = 0

/**
 * A stream id no other test uses, so one store serves the whole suite.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const freshStream = (label = "suite"): StreamId.StreamId =>
  StreamId.make(
    `${label}-${Date.now().toString(36)}-${(streams++).toString(36)}-${Math.random().toString(36).slice(2)}`
  )

const event = (type: string, data: Record<string, unknown> = {}, id?: string): Event.EventData =>
  id === undefined ? { type, data } : { id: Event.EventId.make(id), type, data }

const withId = (data: Event.EventData): Event.EventData & { readonly id: Event.EventId } => ({
  ...data,
  id: data.id ?? Event.makeId()
})

const options = { registry }

const readAll = (store: EventStore.Service, streamId: StreamId.StreamId) =>
  Effect.map(Stream.runCollect(store.read(streamId)), Chunk.toReadonlyArray)

const logsOf = (store: EventStore.Service, streamIds: Iterable<StreamId.StreamId>) =>
  Effect.provideService(Checker.readLogs(streamIds), EventStore.EventStore, store)

/**
 * Runs one append and records it as a {@link Checker.Attempt}.
 *
 * @since 0.1.0
 * @category concurrency
 */
export const attempt = (
  store: EventStore.Service,
  streamId: StreamId.StreamId,
  expectedVersion: ExpectedVersion.ExpectedVersion,
  events: ReadonlyArray<Event.EventData>,
  appendRegistry: ConflictRegistry.ConflictRegistry<any, any> = registry
): Effect.Effect<Checker.Attempt> => {
  const identified = events.map(withId)
  return store.append(streamId, expectedVersion, identified, { registry: appendRegistry }).pipe(
    Effect.match({
      onFailure: (error): Checker.Attempt["outcome"] => ({ _tag: "Rejected", error: error._tag }),
      onSuccess: (result): Checker.Attempt["outcome"] => ({ _tag: "Acknowledged", result })
    }),
    Effect.map((outcome) => ({ streamId, expectedVersion, events: identified, registry: appendRegistry, outcome }))
  )
}

/** What a scheduled writer means to do; the events it appends are decided from the state it read. */
type Intent =
  | { readonly _tag: "Note" }
  | { readonly _tag: "Count"; readonly tag: string }
  | { readonly _tag: "Rename" }
  | { readonly _tag: "Delete" }

const decide = (intent: Intent, writer: string, encoded: string): ReadonlyArray<Event.EventData> => {
  const state = JSON.parse(encoded) as { name: string | null; tags: Record<string, number> }
  switch (intent._tag) {
    case "Note":
      return [event("Noted", { note: writer })]
    case "Count":
      return [event("Tagged", { tag: intent.tag, value: (state.tags[intent.tag] ?? 0) + 1 })]
    case "Rename":
      return [event("Renamed", { name: `${state.name ?? ""}/${writer}` })]
    case "Delete":
      return [event("Deleted")]
  }
}

/** Lets every pending callback run: the I/O a step started, and the step its writer schedules next. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

const randomEvent = Effect.gen(function*() {
  const roll = yield* Random.nextIntBetween(0, 10)
  const n = yield* Random.nextIntBetween(0, 1_000_000)
  if (roll < 4) return event("Noted", { note: `note-${n}` })
  if (roll < 7) return event("Tagged", { tag: `t${n % 3}`, value: n })
  if (roll < 9) return event("Renamed", { name: `name-${n}` })
  return event("Deleted")
})

/**
 * Registers the conformance suite for one store Layer. Call it once per store, at the top level of a test file.
 *
 * @example
 * ```ts
 * import { EventStore } from "@concord/core"
 * import { EventStoreSuite } from "@concord/testing"
 *
 * EventStoreSuite.run("layerMemory", EventStore.layerMemory())
 * ```
 *
 * @since 0.1.0
 * @category suite
 */
export const run = <E>(name: string, storeLayer: Layer.Layer<EventStore.EventStore, E>): void => {
  describe(`EventStoreSuite: ${name}`, () => {
    layer(storeLayer, { timeout: "120 seconds" })((it) => {
      describe("appending", () => {
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

        it.effect("a stale append the registry lets through goes after the current end, reading only the delta", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const id = freshStream()
            yield* store.append(
              id,
              ExpectedVersion.noStream,
              [event("Created"), event("Noted", { note: "a" })],
              options
            )
            yield* store.append(id, ExpectedVersion.exact(2), [
              event("Noted", { note: "b" }),
              event("Tagged", { tag: "x" })
            ])
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
            const lenient = ConflictRegistry.untyped().pipe(ConflictRegistry.never("Noted"))
            expect(yield* store.append(id, ExpectedVersion.exact(1), [event("Noted")], { registry: lenient }))
              .toMatchObject({ firstVersion: 4, rebasedOver: 2 })
            expect(yield* store.append(id, ExpectedVersion.exact(3), [event("Noted")], options))
              .toMatchObject({ firstVersion: 5, rebasedOver: 1 })
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
      })

      describe("atomic batches", () => {
        it.effect("a conflict on the last event of a batch writes none of it", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const id = freshStream()
            yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
            yield* store.append(id, ExpectedVersion.exact(1), [event("Deleted")], options)
            yield* Effect.flip(
              store.append(id, ExpectedVersion.exact(1), [event("Noted"), event("Noted"), event("Renamed")], options)
            )
            expect((yield* readAll(store, id)).map((e) => e.type)).toEqual(["Created", "Deleted"])
          }))

        it.effect("data JSON cannot carry exactly is refused with its index, and nothing is written", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const id = freshStream()
            const cyclic: Record<string, unknown> = {}
            cyclic.self = cyclic
            for (
              const bad of [
                Number.NaN,
                undefined,
                new Date(0),
                10n,
                "nul\u0000",
                "lone\ud800",
                "\udc00lone",
                { ["key\ud800"]: 1 },
                { nested: [1, Infinity] },
                cyclic
              ]
            ) {
              const error = yield* Effect.flip(
                store.append(id, ExpectedVersion.any, [event("Noted"), { type: "Noted", data: { bad } }])
              )
              expect(error).toMatchObject({ _tag: "InvalidEventData", index: 1, type: "Noted" })
            }
            const badMetadata = yield* Effect.flip(
              store.append(id, ExpectedVersion.any, [{ type: "Noted", data: {}, metadata: { at: new Date() } }])
            )
            expect(badMetadata._tag).toBe("InvalidEventData")
            expect(yield* store.version(id)).toBe(0)
          }))

        it.effect("types and ids no store keeps exactly (NUL, unpaired surrogates) are refused, and nothing is written", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const id = freshStream()
            // EventData's type is a plain string and an id can be cast: the store checks them itself.
            const bad: ReadonlyArray<Event.EventData> = [
              { type: "", data: {} },
              { type: "No\u0000ted", data: {} },
              { type: "Noted\ud800", data: {} },
              { type: "\udc00Noted", data: {} },
              { id: `a\ud800${id}` as Event.EventId, type: "Noted", data: {} },
              { id: `a\u0000${id}` as Event.EventId, type: "Noted", data: {} }
            ]
            for (const event of bad) {
              const error = yield* Effect.flip(
                store.append(id, ExpectedVersion.any, [{ type: "Noted", data: {} }, event])
              )
              expect(error).toMatchObject({ _tag: "InvalidEventData", index: 1 })
            }
            expect(yield* store.version(id)).toBe(0)
            // A stream id is checked where it is made, by its Schema.
            expect(Schema.is(StreamId.StreamId)(`${id}\ud800`)).toBe(false)
          }))

        it.effect("quotes, unicode, deep nesting and 10 kB strings read back exactly", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const id = StreamId.make(`q'"\\;--${freshStream()}-é✓😀`)
            const data = {
              quote: "it's \"quoted\" \\ ; DROP TABLE events; --",
              unicode: "ÆØÅ ✓ 😀 \u2028",
              big: "x".repeat(10_000),
              nested: { a: [1, -2.5, 1e300, 0, null, true, { b: [] }] },
              empty: ""
            }
            yield* store.append(id, ExpectedVersion.noStream, [{ type: "Noted", data, metadata: { by: "ü" } }])
            const [stored] = yield* readAll(store, id)
            expect(stored!.data).toEqual(data)
            expect(stored!.metadata).toEqual({ by: "ü" })
            expect(stored!.streamId).toBe(id)
          }))
      })

      describe("idempotency", () => {
        it.effect("re-sending a batch with the same ids returns the original result and writes nothing", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const id = freshStream()
            yield* store.append(id, ExpectedVersion.noStream, [event("Created")], options)
            yield* store.append(id, ExpectedVersion.exact(1), [event("Noted")], options)
            const batch = [event("Noted", {}, `a-${id}`), event("Tagged", { tag: "t" }, `b-${id}`)]
            const first = yield* store.append(id, ExpectedVersion.exact(1), batch, options)
            expect(first).toEqual({ streamId: id, firstVersion: 3, lastVersion: 4, rebasedOver: 1 })
            yield* store.append(id, ExpectedVersion.exact(4), [event("Noted")], options)
            expect(yield* store.append(id, ExpectedVersion.exact(1), batch, options)).toEqual(first)
            expect(yield* store.append(id, ExpectedVersion.any, batch, options)).toEqual(first)
            expect(yield* store.version(id)).toBe(5)
          }))

        it.effect("a partial overlap of ids fails with DuplicateEventId and writes nothing", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const id = freshStream()
            const other = freshStream()
            yield* store.append(id, ExpectedVersion.noStream, [
              event("Noted", {}, `a-${id}`),
              event("Noted", {}, `b-${id}`)
            ])
            const cases = [
              [id, [event("Noted", {}, `a-${id}`), event("Noted", {}, `c-${id}`)]],
              [id, [event("Noted", {}, `b-${id}`)]],
              [id, [event("Noted", {}, `b-${id}`), event("Noted", {}, `a-${id}`)]],
              [other, [event("Noted", {}, `a-${id}`), event("Noted", {}, `b-${id}`)]],
              [id, [event("Noted", {}, `d-${id}`), event("Noted", {}, `d-${id}`)]]
            ] as const
            for (const [stream, batch] of cases) {
              const error = yield* Effect.flip(store.append(stream, ExpectedVersion.any, batch))
              expect(error._tag).toBe("DuplicateEventId")
            }
            expect(yield* store.version(id)).toBe(2)
            expect(yield* store.version(other)).toBe(0)
          }))
      })

      describe("concurrency", () => {
        it.effect(
          "many fibers writing stale appends to a few hot streams: the checker finds the log sound",
          () =>
            Effect.gen(function*() {
              const store = yield* EventStore.EventStore
              const hot = [freshStream("hot"), freshStream("hot"), freshStream("hot")]
              const attempts = yield* Effect.forEach(
                hot,
                (id) => attempt(store, id, ExpectedVersion.noStream, [event("Created")])
              )
              const writer = Effect.gen(function*() {
                for (let round = 0; round < 10; round++) {
                  const id = hot[yield* Random.nextIntBetween(0, hot.length)]!
                  const current = yield* store.version(id)
                  const staleness = yield* Random.nextIntBetween(0, 3)
                  const expected = ExpectedVersion.exact(Math.max(1, current - staleness))
                  const size = yield* Random.nextIntBetween(1, 4)
                  const events = yield* Effect.all(Array.from({ length: size }, () => randomEvent))
                  attempts.push(yield* attempt(store, id, expected, events))
                }
              })
              yield* Effect.all(Array.from({ length: 50 }, () => writer), { concurrency: "unbounded" })
              const logs = yield* logsOf(store, hot)
              Checker.assertSound({ logs, attempts, fold })
              const acknowledged = attempts.filter((a) => a.outcome._tag === "Acknowledged")
              const rebased = acknowledged.filter((a) =>
                a.outcome._tag === "Acknowledged" && a.outcome.result.rebasedOver > 0
              )
              // The run exercised both sides: stale appends accepted past others, and real conflicts refused.
              expect(rebased.length).toBeGreaterThan(0)
              expect(attempts.some((a) => a.outcome._tag === "Rejected")).toBe(true)
            }),
          { timeout: 120_000 }
        )

        it.effect(
          "read-decide-append writers under fast-check's scheduler: every interleaving sound",
          () =>
            Effect.gen(function*() {
              const store = yield* EventStore.EventStore
              const run = <A, E2>(effect: Effect.Effect<A, E2>) => Effect.runPromise(effect)
              const writers = FastCheck.array(
                FastCheck.oneof(
                  FastCheck.constant<Intent>({ _tag: "Note" }),
                  FastCheck.constantFrom("a", "b").map((tag): Intent => ({ _tag: "Count", tag })),
                  FastCheck.constant<Intent>({ _tag: "Rename" }),
                  FastCheck.constant<Intent>({ _tag: "Delete" })
                ),
                { minLength: 2, maxLength: 6 }
              )
              // Across all runs, so that the test cannot quietly degenerate into writers that never race.
              let readPastZero = 0
              let acceptedStale = 0
              const property = FastCheck.asyncProperty(FastCheck.scheduler(), writers, async (s, intents) => {
                const id = freshStream("sched")
                const attempts: Array<Checker.Attempt> = []
                // `scheduleFunction` would call at once and only delay the answer, so every writer would read version
                // 0: the scheduler releases the START of each step instead, interleaving reads and appends.
                let inFlight: Promise<unknown> = Promise.resolve()
                const step = <A>(label: string, effect: Effect.Effect<A, unknown>) =>
                  s.schedule(Promise.resolve(label)).then(() => {
                    const result = run(effect)
                    inFlight = result.catch(() => undefined)
                    return result
                  })
                const done = Promise.all(intents.map(async (intent, w) => {
                  const log = await step(`read ${w}`, readAll(store, id))
                  if (log.length > 0) readPastZero++
                  const events = decide(intent, `w${w}`, log.reduce(fold.evolve, fold.initialState))
                  attempts.push(
                    await step(`append ${w}`, attempt(store, id, ExpectedVersion.exact(log.length), events))
                  )
                }))
                // A released step finishes before the next is released, so that a store's I/O latency cannot let every
                // read complete before the first append does (many fibers at once are the test above).
                await s.waitFor(done, async (release) => {
                  await release()
                  await settle()
                  await inFlight
                  await settle()
                })
                const logs = await run(logsOf(store, [id]))
                Checker.assertSound({ logs, attempts, fold })
                acceptedStale += attempts.filter((a) =>
                  a.outcome._tag === "Acknowledged" && a.outcome.result.rebasedOver > 0
                ).length
                expect(attempts.some((a) => a.outcome._tag === "Acknowledged")).toBe(true)
              })
              yield* Effect.promise(() => FastCheck.assert(property, { numRuns: 60 }))
              expect(readPastZero).toBeGreaterThan(0)
              expect(acceptedStale).toBeGreaterThan(0)
            }),
          { timeout: 120_000 }
        )

        it.effect("model-based: any sequence of appends matches a reference model", () =>
          Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const run = <A, E2>(effect: Effect.Effect<A, E2>) => Effect.runPromise(Effect.either(effect))
            interface Model {
              readonly streams: Map<string, Array<Conflict.Committed>>
              readonly lastBatch:
                | { id: StreamId.StreamId; expected: number; events: Array<Event.EventData> }
                | undefined
            }
            interface Real {
              readonly streamIds: ReadonlyArray<StreamId.StreamId>
            }
            const committedOf = (model: Model, id: string) => model.streams.get(id) ?? []
            class Append implements FastCheck.AsyncCommand<Model, Real> {
              constructor(
                readonly stream: number,
                readonly behind: number,
                readonly events: ReadonlyArray<Event.EventData>
              ) {}
              check = () => true
              async run(model: Model, real: Real) {
                const id = real.streamIds[this.stream]!
                const log = committedOf(model, id)
                const expected = Math.max(0, log.length - this.behind)
                const batch = this.events.map(withId)
                const pairs = Conflict.detect(registry, log.slice(expected), batch)
                const outcome = await run(store.append(id, ExpectedVersion.exact(expected), batch, options))
                if (pairs.length > 0) {
                  expect(outcome._tag === "Left" && outcome.left._tag).toBe("ConcurrencyConflict")
                  return
                }
                expect(outcome).toMatchObject({
                  _tag: "Right",
                  right: { firstVersion: log.length + 1, lastVersion: log.length + batch.length }
                })
                model.streams.set(id, [
                  ...log,
                  ...batch.map((e, i) => ({ ...e, version: (log.length + i + 1) as StreamVersion.StreamVersion }))
                ])
                ;(model as { lastBatch: Model["lastBatch"] }).lastBatch = { id, expected, events: batch }
              }
              toString = () => `Append(${this.stream}, -${this.behind}, [${this.events.map((e) => e.type)}])`
            }
            class Resend implements FastCheck.AsyncCommand<Model, Real> {
              check = (model: Readonly<Model>) => model.lastBatch !== undefined
              async run(model: Model) {
                const { events, expected, id } = model.lastBatch!
                const before = committedOf(model, id).length
                const outcome = await run(store.append(id, ExpectedVersion.exact(expected), events, options))
                expect(outcome._tag).toBe("Right")
                expect(await Effect.runPromise(store.version(id))).toBe(before)
              }
              toString = () => "Resend"
            }
            class Read implements FastCheck.AsyncCommand<Model, Real> {
              constructor(readonly stream: number) {}
              check = () => true
              async run(model: Model, real: Real) {
                const id = real.streamIds[this.stream]!
                const outcome = await run(readAll(store, id))
                const log = outcome._tag === "Right" ? outcome.right : []
                expect(log.map((e) => [e.id, e.version, e.type])).toEqual(
                  committedOf(model, id).map((e) => [e.id, e.version, e.type])
                )
              }
              toString = () => `Read(${this.stream})`
            }
            const anEvent = FastCheck.oneof(
              FastCheck.constant(event("Created")),
              FastCheck.constant(event("Deleted")),
              FastCheck.nat(5).map((n) => event("Renamed", { name: `n${n}` })),
              FastCheck.nat(5).map((n) => event("Noted", { note: `n${n}` })),
              FastCheck.constantFrom("a", "b").map((tag) => event("Tagged", { tag }))
            )
            const commands = [
              FastCheck.tuple(
                FastCheck.nat(1),
                FastCheck.nat(3),
                FastCheck.array(anEvent, { minLength: 1, maxLength: 3 })
              )
                .map(([stream, behind, events]) => new Append(stream, behind, events)),
              FastCheck.constant(new Resend()),
              FastCheck.nat(1).map((stream) => new Read(stream))
            ]
            const property = FastCheck.asyncProperty(
              FastCheck.commands(commands, { maxCommands: 30 }),
              async (cmds) => {
                const streamIds = [freshStream("model"), freshStream("model")]
                await FastCheck.asyncModelRun(
                  () => ({ model: { streams: new Map(), lastBatch: undefined }, real: { streamIds } }),
                  cmds
                )
              }
            )
            yield* Effect.promise(() => FastCheck.assert(property, { numRuns: 40 }))
          }), { timeout: 120_000 })
      })
    })
  })
}
