// The hot path of an append checks and builds values without running their Schemas: these properties hold the fast
// checks to the Schemas they stand for, and the memory store's copy of the data to the JSON round trip it replaces.
import { Event, EventStore, ExpectedVersion, StoreBackend, StreamId, StreamVersion } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Equal, Exit, FastCheck as fc, Schema, Stream } from "effect"

// Strings near the length limits, made of characters the rules care about: NUL, lone and paired surrogates, dots.
const tricky = (max: number) =>
  fc.oneof(
    fc.array(fc.constantFrom(0x41, 0x0, 0xe9, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00, 0x2e), { maxLength: 8 })
      .map((codes) => String.fromCharCode(...codes)),
    fc.integer({ min: max - 2, max: max + 2 }).map((length) => "x".repeat(length)),
    fc.constantFrom(".", "..", "...", ".x"),
    fc.string({ unit: "binary", maxLength: 6 })
  )

// Numbers a hand-built expected version may hold, weighted towards the edges of the stores' range.
const versionLike = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: StreamVersion.max - 2, max: StreamVersion.max + 2 }),
  fc.double(),
  fc.constantFrom(-0, Number.NaN, Infinity, -Infinity, 2 ** 53, 1.5, "1", null, undefined)
)

const streamId = StreamId.make("fast-1")
const rejects = (events: ReadonlyArray<Event.EventData>) =>
  Exit.isFailure(Effect.runSyncExit(StoreBackend.validate(streamId, ExpectedVersion.any, events)))

describe("fast checks agree with their Schemas", () => {
  it.prop("StreamId.make", [tricky(512)], ([id]) => {
    expect(Either.isRight(Either.try(() => StreamId.make(id)))).toBe(Schema.is(StreamId.StreamId)(id))
  })

  it.prop("stream ids a store is given, whatever their type said", [tricky(512)], ([id]) => {
    const refused = Effect.runSyncExit(StoreBackend.validateStreamId("read", id as StreamId.StreamId))
    expect(Exit.isFailure(refused)).toBe(!Schema.is(StreamId.StreamId)(id))
    expect(Exit.isFailure(refused)).toBe(
      Exit.isFailure(Effect.runSyncExit(StoreBackend.validate(id as StreamId.StreamId, ExpectedVersion.any, [])))
    )
  })

  it.prop("expected versions a store is given, whatever their type said", [versionLike], ([version]) => {
    const accepted = Schema.is(Schema.Int.pipe(Schema.between(0, StreamVersion.max)))(version)
    for (const tag of ["Exact", "Any", "exact", undefined]) {
      const expected = { _tag: tag, version } as unknown as ExpectedVersion.ExpectedVersion
      const exit = Effect.runSyncExit(StoreBackend.validate(streamId, expected, []))
      expect(Exit.isSuccess(exit), `${tag} ${version}`).toBe(tag === "Any" || (tag === "Exact" && accepted))
    }
  })

  it.prop("event types", [tricky(256)], ([type]) => {
    expect(rejects([{ type, data: {} }])).toBe(!Schema.is(Event.EventType)(type))
  })

  it.prop("event ids", [tricky(128)], ([id]) => {
    expect(rejects([{ id: id as Event.EventId, type: "T", data: {} }])).toBe(!Schema.is(Event.EventId)(id))
  })

  it.prop("JSON data: keys and values", [fc.dictionary(tricky(3), fc.oneof(tricky(3), fc.double()))], ([data]) => {
    const exact = JSON.stringify(data) !== undefined &&
      Object.entries(data).every(([k, v]) =>
        Schema.is(Schema.String.pipe(Schema.filter((s) => (s as any).isWellFormed() && !s.includes("\u0000"))))(k) &&
        (typeof v === "number" ? Number.isFinite(v) : (v as any).isWellFormed() && !v.includes("\u0000"))
      )
    expect(rejects([{ type: "T", data }])).toBe(!exact)
  })

  it("cyclic data: the full check decides and explains", () => {
    const cycle: Record<string, unknown> = { a: { b: 1 } }
    ;(cycle.a as Record<string, unknown>).c = cycle
    const exit = Effect.runSyncExit(StoreBackend.validate(streamId, ExpectedVersion.any, [{ type: "T", data: cycle }]))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("refers to itself")
  })

  it.prop("ExpectedVersion.exact builds what the class builds", [fc.nat()], ([version]) => {
    const built = ExpectedVersion.exact(version)
    const constructed = new ExpectedVersion.Exact({ version: version as any })
    expect(built).toBeInstanceOf(ExpectedVersion.Exact)
    expect(Equal.equals(built, constructed)).toBe(true)
    expect(Object.keys(built)).toEqual(Object.keys(constructed))
    expect(String(built)).toBe(String(constructed))
    expect(Schema.is(ExpectedVersion.ExpectedVersion)(built)).toBe(true)
  })
})

describe("the memory store's copy of the data", () => {
  const stored = (data: unknown, metadata?: Event.Metadata) =>
    Effect.runSync(Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* store.append(streamId, ExpectedVersion.any, [{ type: "T", data, metadata }])
      return Chunk.unsafeHead(yield* Stream.runCollect(store.read(streamId)))
    }))

  it.prop("is the JSON round trip, deeply frozen", [fc.jsonValue()], ([data]) => {
    const event = stored(data, { by: data as any })
    expect(event.data).toStrictEqual(JSON.parse(JSON.stringify(data)))
    const frozen = (value: unknown): boolean =>
      typeof value !== "object" || value === null || (Object.isFrozen(value) && Object.values(value).every(frozen))
    expect(frozen(event)).toBe(true)
    expect(frozen(event.metadata)).toBe(true)
  })

  it("as JSON has them: -0, holes in arrays, keys named __proto__", () => {
    const data = JSON.parse(`{"__proto__": {"x": 1}, "n": -0, "a": [1, null]}`)
    data.a = [1, 2, 3, -0]
    delete data.a[1] // a hole
    const event = stored(data)
    expect(event.data).toStrictEqual(JSON.parse(JSON.stringify(data)))
    expect(Object.getPrototypeOf(event.data)).toBe(Object.prototype)
    expect(Object.is((event.data as { n: number }).n, 0)).toBe(true)
    expect(Object.is((event.data as { a: Array<number> }).a[3], 0)).toBe(true)
  })

  it("is not changed by the caller's later changes", () => {
    const data = { list: [1, 2], nested: { a: "b" } }
    const event = stored(data)
    data.list.push(3)
    data.nested.a = "changed"
    expect(event.data).toEqual({ list: [1, 2], nested: { a: "b" } })
  })
})

describe("the memory store's id index", () => {
  it.effect("knows the ids the store chose, however many appends ago", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const a = StreamId.make("index-a")
      const first = yield* store.append(a, ExpectedVersion.noStream, [{ type: "T", data: {} }])
      yield* store.append(a, ExpectedVersion.exact(1), [{ type: "T", data: {} }])
      const [chosen] = Chunk.toArray(yield* Stream.runCollect(store.read(a)))
      // The same batch again: its original result; the id in another stream: refused, and nothing written.
      expect(yield* store.append(a, ExpectedVersion.any, [{ id: chosen!.id, type: "T", data: {} }])).toEqual(first)
      const elsewhere = yield* Effect.flip(
        store.append(StreamId.make("index-b"), ExpectedVersion.any, [{ id: chosen!.id, type: "T", data: {} }])
      )
      expect(elsewhere).toBeInstanceOf(EventStore.DuplicateEventId)
      expect(yield* store.version(StreamId.make("index-b"))).toBe(0)
    }))
})
