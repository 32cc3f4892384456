// Event data and metadata nest at most Event.maxDepth arrays and objects deep. Deeper input is refused, however deep
// it goes: neither the check nor the memory store's copy recurses deeper than the limit, so nothing overflows a stack.
import { Event, EventStore, ExpectedVersion, StoreBackend, StreamId } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Either, Exit, FastCheck as fc, Schema, Stream } from "effect"

/** `levels` arrays or objects inside one another (as the shapes say, outermost first, repeated), built without recursion. */
const nested = (levels: number, shapes: ReadonlyArray<"array" | "object"> = ["array"], leaf: unknown = 1): unknown => {
  let value = leaf
  for (let level = levels - 1; level >= 0; level--) {
    value = shapes[level % shapes.length] === "array" ? [0, value, "x"] : { before: null, inner: value, after: true }
  }
  return value
}

const tooDeep = (field: "data" | "metadata") =>
  `${field} is nested deeper than ${Event.maxDepth} levels (Event.maxDepth)`

const streamId = StreamId.make("depth-1")

const refusal = (events: ReadonlyArray<Event.EventData>) =>
  Effect.runSync(Effect.either(StoreBackend.validate(streamId, ExpectedVersion.any, events)))

const readBack = (store: EventStore.Service, stream: StreamId.StreamId) =>
  Effect.map(Stream.runCollect(store.read(stream)), Chunk.toArray)

describe("Event.maxDepth", () => {
  it("is 64", () => {
    expect(Event.maxDepth).toBe(64)
  })

  it.effect("data and metadata 64 deep are stored, and read back as JSON has them, deeply frozen", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const stream = StreamId.make("depth-ok")
      const shapes = [["array"], ["object"], ["object", "array"], ["array", "array", "object"]] as const
      const events = shapes.map((shape) => ({
        type: "Deep",
        data: nested(Event.maxDepth, shape),
        // Metadata is an object: one level, and 63 inside it.
        metadata: { inner: nested(Event.maxDepth - 1, shape, -0) }
      }))
      yield* store.append(stream, ExpectedVersion.noStream, events)
      const read = yield* readBack(store, stream)
      expect(read.map((event) => event.data)).toStrictEqual(
        events.map((event) => JSON.parse(JSON.stringify(event.data)))
      )
      expect(read.map((event) => event.metadata)).toStrictEqual(
        events.map((event) => JSON.parse(JSON.stringify(event.metadata)))
      )
      let frozen = true
      for (let value: any = read[0]!.data; Array.isArray(value); value = value[1]) frozen &&= Object.isFrozen(value)
      expect(frozen).toBe(true)
    }))

  it.effect("data or metadata 65 deep is refused with InvalidEventData naming the limit, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const stream = StreamId.make("depth-refused")
      for (const shape of [["array"], ["object"], ["array", "object"]] as const) {
        const cases = [
          { field: "data", event: { type: "Deep", data: nested(Event.maxDepth + 1, shape) } },
          { field: "metadata", event: { type: "Deep", data: {}, metadata: { inner: nested(Event.maxDepth, shape) } } }
        ] as const
        for (const { event, field } of cases) {
          const error = yield* Effect.flip(
            store.append(stream, ExpectedVersion.any, [{ type: "Fine", data: {} }, event])
          )
          expect(error).toMatchObject({ _tag: "InvalidEventData", index: 1, type: "Deep", reason: tooDeep(field) })
          expect(error.message).toContain(`(Event.maxDepth)`)
        }
      }
      expect(yield* store.version(stream)).toBe(0)
    }))

  it.effect("100 000 arrays or objects deep: refused with InvalidEventData, not a stack overflow", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const stream = StreamId.make("depth-hostile")
      for (const shape of [["array"], ["object"]] as const) {
        const deep = nested(100_000, shape)
        const cases = [
          { field: "data", event: { type: "T", data: deep } },
          { field: "metadata", event: { type: "T", data: {}, metadata: { inner: deep } } }
        ] as const
        for (const { event, field } of cases) {
          const exit = yield* Effect.exit(store.append(stream, ExpectedVersion.any, [event]))
          // The failure itself, not a defect (a RangeError from a stack overflow would be one).
          const failure = Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : exit
          expect(failure).toMatchObject({ _tag: "InvalidEventData", index: 0, reason: tooDeep(field) })
        }
      }
      expect(yield* store.version(stream)).toBe(0)
    }))

  it.effect("data that turns 100 000 deep after the check (a getter) is copied without a stack overflow", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const stream = StreamId.make("depth-getter")
      let reads = 0
      const data = {
        get inner() {
          return ++reads === 1 ? 1 : nested(100_000, ["array", "object"])
        }
      }
      yield* store.append(stream, ExpectedVersion.any, [{ type: "T", data }])
      const [event] = yield* readBack(store, stream)
      let depth = 0
      for (let value: any = (event!.data as { inner: unknown }).inner; typeof value === "object"; depth++) {
        expect(Object.isFrozen(value)).toBe(true)
        value = Array.isArray(value) ? value[1] : value.inner
      }
      expect(depth).toBe(100_000)
    }))

  it("the HTTP body's Schema takes deep data without walking it: the store refuses it", () => {
    const deep = nested(100_000, ["object", "array"])
    const decoded = Schema.decodeUnknownSync(Event.EventData)({ type: "T", data: deep, metadata: { inner: deep } })
    expect(decoded.data).toBe(deep)
    expect(Either.getLeft(refusal([decoded]))).toMatchObject({ value: { reason: tooDeep("data") } })
  })

  it.prop(
    "the check accepts exactly the data at most Event.maxDepth deep",
    [
      fc.integer({ min: Event.maxDepth - 3, max: Event.maxDepth + 3 }),
      fc.array(fc.constantFrom<Array<"array" | "object">>("array", "object"), {
        minLength: 1,
        maxLength: 4
      })
    ],
    ([levels, shapes]) => {
      const refused = refusal([{ type: "T", data: nested(levels, shapes) }])
      if (levels <= Event.maxDepth) expect(Either.isRight(refused)).toBe(true)
      else expect(Either.getLeft(refused)).toMatchObject({ value: { reason: tooDeep("data") } })
    }
  )

  it("a problem found before the limit is named by its path; a cycle still refers to itself", () => {
    const reason = (data: unknown) =>
      Either.match(refusal([{ type: "T", data }]), { onLeft: (e) => e, onRight: () => "valid" })
    expect(reason({ a: [Number.NaN], b: nested(100) })).toMatchObject({
      reason: "data.a[0] is NaN, which JSON cannot carry"
    })
    expect(reason({ a: nested(100), b: [Number.NaN] })).toMatchObject({ reason: tooDeep("data") })
    const cycle: Record<string, unknown> = { a: [{ b: 1 }] }
    ;((cycle.a as Array<Record<string, unknown>>)[0]!).c = cycle
    expect(reason(cycle)).toMatchObject({ reason: "data.a[0].c refers to itself" })
    // A cycle longer than the limit is found as data too deep, before the walk comes back to where it began.
    let long: Record<string, unknown> = {}
    const start = long
    for (let i = 0; i < 100; i++) long = long.next = {}
    long.next = start
    expect(reason(start)).toMatchObject({ reason: tooDeep("data") })
    // The same object twice, side by side, is no cycle.
    const shared = { x: [1] }
    expect(reason({ a: shared, b: [shared, shared] })).toBe("valid")
  })
})
