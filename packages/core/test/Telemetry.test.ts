import { ConflictRegistry, Event, EventStore, ExpectedVersion, StreamId, Telemetry } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Metric, Stream, Tracer } from "effect"

// Metrics are global to the process: every test measures what its own operations added.

const registry = ConflictRegistry.untyped().pipe(ConflictRegistry.never("Note"))

/** Every append metric, as numbers. */
const appendMetrics = Effect.gen(function*() {
  const outcomes: Record<string, number> = {}
  for (const outcome of Telemetry.outcomes) {
    outcomes[outcome] = (yield* Metric.value(Telemetry.metrics.appendsByOutcome[outcome])).count
  }
  const depth = yield* Metric.value(Telemetry.metrics.rebaseDepth)
  const duration = yield* Metric.value(Telemetry.metrics.appendDuration)
  return {
    outcomes,
    events: (yield* Metric.value(Telemetry.metrics.eventsAppended)).count,
    depthCount: depth.count,
    depthSum: depth.sum,
    durations: duration.count
  }
})

type AppendMetrics = Effect.Effect.Success<typeof appendMetrics>

const delta = (before: AppendMetrics, after: AppendMetrics) => ({
  outcomes: Object.fromEntries(Telemetry.outcomes.map((outcome) => [
    outcome,
    after.outcomes[outcome]! - before.outcomes[outcome]!
  ])),
  events: after.events - before.events,
  depthCount: after.depthCount - before.depthCount,
  depthSum: after.depthSum - before.depthSum,
  durations: after.durations - before.durations
})

/** A store whose appends fail as told; reads are the memory store's. */
const failing = (append: EventStore.Service["append"]) =>
  Effect.map(EventStore.makeMemory(), (store): EventStore.Service => ({ ...store, append }))

const note = (marker = "") => ({ type: "Note", data: { text: marker } })
const edit = (marker = "") => ({ type: "Edit", data: { text: marker } })

describe("Telemetry.instrument: append metrics", () => {
  it.effect("counts each append by its outcome, the events and rebase depth of accepted ones, and every duration", () =>
    Effect.gen(function*() {
      const store = Telemetry.instrument(yield* EventStore.makeMemory({ registry }))
      const id = StreamId.make("doc-1")
      const before = yield* appendMetrics

      yield* store.append(id, ExpectedVersion.noStream, [edit(), edit()])
      yield* store.append(id, ExpectedVersion.exact(2), [edit()])
      // Stale by two events the registry lets a note go past.
      const rebased = yield* store.append(id, ExpectedVersion.exact(1), [note()])
      expect(rebased.rebasedOver).toBe(2)
      const refused = [
        yield* Effect.flip(store.append(id, ExpectedVersion.exact(1), [edit()])),
        yield* Effect.flip(store.append(id, ExpectedVersion.exact(9), [edit()])),
        yield* Effect.flip(store.append(StreamId.make("doc-2"), ExpectedVersion.any, [
          { id: Event.EventId.make("same"), ...edit() },
          { id: Event.EventId.make("same"), ...edit() }
        ])),
        yield* Effect.flip(store.append("" as StreamId.StreamId, ExpectedVersion.any, [edit()])),
        yield* Effect.flip(store.append(id, ExpectedVersion.any, [{ type: "Edit", data: { n: Number.NaN } }]))
      ]
      expect(refused.map((error) => error._tag)).toEqual([
        "ConcurrencyConflict",
        "WrongExpectedVersion",
        "DuplicateEventId",
        "InvalidArgument",
        "InvalidEventData"
      ])
      // An empty batch is accepted and counts no events.
      yield* store.append(id, ExpectedVersion.any, [])

      expect(delta(before, yield* appendMetrics)).toEqual({
        outcomes: {
          accepted: 3,
          rebased: 1,
          conflict: 1,
          wrong_version: 1,
          duplicate: 1,
          invalid: 2,
          timeout: 0,
          store_error: 0
        },
        events: 4,
        depthCount: 4,
        depthSum: 2,
        durations: 9
      })
    }))

  it.effect("counts a timeout and a store's failures and defects; an interrupted append counts nothing", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-1")
      const timeout = Telemetry.instrument(
        yield* failing((streamId) =>
          Effect.fail(new EventStore.AppendTimeout({ streamId, timeoutMillis: 5, mayHaveCommitted: false }))
        )
      )
      const failed = Telemetry.instrument(
        yield* failing(() => Effect.fail(new EventStore.StoreError({ operation: "append", cause: "disk full" })))
      )
      const died = Telemetry.instrument(yield* failing(() => Effect.die("a bug")))
      const stuck = Telemetry.instrument(yield* failing(() => Effect.never))
      const interrupted = Telemetry.instrument(yield* failing(() => Effect.interrupt))
      const before = yield* appendMetrics

      yield* Effect.exit(timeout.append(id, ExpectedVersion.any, [edit()]))
      yield* Effect.exit(failed.append(id, ExpectedVersion.any, [edit()]))
      yield* Effect.exit(died.append(id, ExpectedVersion.any, [edit()]))
      const fiber = yield* Effect.fork(stuck.append(id, ExpectedVersion.any, [edit()]))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      yield* Effect.exit(interrupted.append(id, ExpectedVersion.any, [edit()]))

      const { outcomes, ...rest } = delta(before, yield* appendMetrics)
      expect(outcomes).toMatchObject({ timeout: 1, store_error: 2, accepted: 0 })
      expect(rest).toEqual({ events: 0, depthCount: 0, depthSum: 0, durations: 3 })
    }))
})

// -----------------------------------------------------------------------------
// spans
// -----------------------------------------------------------------------------

/** A tracer that keeps every span it makes (Effect's own spans, so their attributes and status are kept). */
const recordingTracer = () => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = Effect.runSync(Effect.map(
        Effect.tracer,
        (native) => native.span(name, parent, context, links, startTime, kind, options)
      ))
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  const named = (name: string) => spans.filter((span) => span.name === name)
  return { spans, tracer, named }
}

const marker = "MARKER-7f3a"

/** Events carrying the marker everywhere but in the stream id: id, type, data and metadata. */
const marked = (type: "Edit" | "Note") => ({
  id: Event.EventId.make(`${marker}-${Math.random()}`),
  type: `${type}-${marker}`,
  data: { text: marker, [marker]: 1 },
  metadata: { note: marker }
})

describe("Telemetry.instrument: spans", () => {
  it.effect("makes one span per store operation with versions and counts, and no event data", () =>
    Effect.gen(function*() {
      const { named, spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        const store = Telemetry.instrument(
          yield* EventStore.makeMemory({
            registry: ConflictRegistry.untyped().pipe(ConflictRegistry.never(`Note-${marker}`))
          }),
          { spans: true }
        )
        const id = StreamId.make("doc-1")
        yield* store.append(id, ExpectedVersion.noStream, [marked("Edit"), marked("Edit")])
        yield* store.append(id, ExpectedVersion.exact(1), [marked("Note")])
        yield* Effect.flip(store.append(id, ExpectedVersion.exact(1), [marked("Edit")]))
        yield* Effect.flip(store.append(id, ExpectedVersion.exact(9), [marked("Edit")]))
        expect(Chunk.size(yield* Stream.runCollect(store.read(id)))).toBe(3)
        expect(Chunk.size(yield* Stream.runCollect(store.readAll()))).toBe(3)
        expect(Chunk.size(yield* Stream.runCollect(Stream.take(store.subscribe(), 3)))).toBe(3)
        expect(yield* store.version(id)).toBe(3)
      }).pipe(Effect.withTracer(tracer))

      const appends = named("concord.store.append").map((span) => Object.fromEntries(span.attributes))
      expect(appends).toEqual([
        {
          "concord.stream_id": "doc-1",
          "concord.expected_version": 0,
          "concord.events": 2,
          "concord.actual_version": 2,
          "concord.rebased_over": 0,
          "concord.outcome": "accepted"
        },
        {
          "concord.stream_id": "doc-1",
          "concord.expected_version": 1,
          "concord.events": 1,
          "concord.actual_version": 3,
          "concord.rebased_over": 1,
          "concord.outcome": "rebased"
        },
        {
          "concord.stream_id": "doc-1",
          "concord.expected_version": 1,
          "concord.events": 1,
          "concord.actual_version": 3,
          "concord.conflict_pairs": 2,
          "concord.outcome": "conflict"
        },
        {
          "concord.stream_id": "doc-1",
          "concord.expected_version": 9,
          "concord.events": 1,
          "concord.actual_version": 3,
          "concord.outcome": "wrong_version"
        }
      ])
      const attributesOf = (name: string) => named(name).map((span) => Object.fromEntries(span.attributes))
      expect(attributesOf("concord.store.read")).toEqual([{ "concord.stream_id": "doc-1", "concord.events": 3 }])
      expect(attributesOf("concord.store.readAll")).toEqual([{ "concord.events": 3 }])
      expect(attributesOf("concord.store.subscribe")).toEqual([{ "concord.events": 3 }])
      expect(attributesOf("concord.store.version")).toEqual([{
        "concord.stream_id": "doc-1",
        "concord.actual_version": 3
      }])
      // Every span ended, and none carries the events' data, metadata, ids or types.
      expect(spans.every((span) => span.status._tag === "Ended")).toBe(true)
      for (const span of spans) {
        for (const [key, value] of span.attributes) {
          expect(`${key}=${JSON.stringify(value)}`).not.toContain(marker)
        }
      }
    }))

  it.effect("names the expected version any as such", () =>
    Effect.gen(function*() {
      const { named, tracer } = recordingTracer()
      const store = Telemetry.instrument(yield* EventStore.makeMemory(), { spans: true })
      yield* store.append(StreamId.make("doc-1"), ExpectedVersion.any, [edit()]).pipe(Effect.withTracer(tracer))
      expect(named("concord.store.append")[0]?.attributes.get("concord.expected_version")).toBe("any")
    }))

  it.effect("makes no span without the option", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const store = Telemetry.instrument(yield* EventStore.makeMemory())
      yield* store.append(StreamId.make("doc-1"), ExpectedVersion.any, [edit()]).pipe(Effect.withTracer(tracer))
      yield* Stream.runDrain(store.readAll()).pipe(Effect.withTracer(tracer))
      expect(spans).toEqual([])
    }))
})

describe("Telemetry.layer", () => {
  const program = Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    yield* store.append(StreamId.make("doc-1"), ExpectedVersion.any, [edit()])
  })
  const layer = Telemetry.layer.pipe(Layer.provide(EventStore.layerMemory()))

  it.effect("instruments the store in context, with spans where a tracer is installed", () =>
    Effect.gen(function*() {
      const { named, tracer } = recordingTracer()
      const before = yield* appendMetrics
      yield* program.pipe(Effect.provide(layer), Effect.withTracer(tracer))
      expect(delta(before, yield* appendMetrics).outcomes.accepted).toBe(1)
      expect(named("concord.store.append")).toHaveLength(1)
    }))

  it.effect("counts an append once where the store in context was instrumented already", () =>
    Effect.gen(function*() {
      const before = yield* appendMetrics
      yield* program.pipe(Effect.provide(Telemetry.layer.pipe(Layer.provide(layer))))
      expect(delta(before, yield* appendMetrics).outcomes.accepted).toBe(1)
      const store = yield* EventStore.makeMemory()
      const once = Telemetry.instrument(store)
      expect(Telemetry.instrument(once, { spans: true })).toBe(once)
    }))

  it.effect("gives a store instrumented with spans a twin without, which counts the same and makes no span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const store = yield* EventStore.makeMemory()
      const traced = Telemetry.instrument(store, { spans: true })
      const untraced = Telemetry.untraced(traced)
      const before = yield* appendMetrics
      yield* Effect.withTracer(untraced.append(StreamId.make("doc-2"), ExpectedVersion.any, [edit()]), tracer)
      expect(delta(before, yield* appendMetrics).outcomes.accepted).toBe(1)
      expect(spans).toEqual([])
      expect(Telemetry.untraced(store)).toBe(store)
      expect(Telemetry.untraced(untraced)).toBe(untraced)
    }))

  it.effect("makes no span where the layer was built under Effect's default tracer", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const before = yield* appendMetrics
      // The tracer comes after the layer was built: the store was made without spans.
      yield* Effect.withTracer(program, tracer).pipe(Effect.provide(layer))
      expect(delta(before, yield* appendMetrics).outcomes.accepted).toBe(1)
      expect(spans).toEqual([])
    }))
})
