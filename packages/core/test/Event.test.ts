import type { Conflict } from "@concord/core"
import { ConflictRegistry, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Either, JSONSchema, Schema, SchemaAST, Stream } from "effect"
import * as Doc from "./fixtures/Document.js"

class Renamed extends Schema.TaggedClass<Renamed>()("Renamed", { name: Schema.String }) {}

describe("Event", () => {
  it("event ids and types refuse NUL and unpaired surrogates, naming the problem", () => {
    const messages = (schema: Schema.Schema<any, string>, value: string) =>
      Either.match(Schema.decodeUnknownEither(schema)(value), { onLeft: (e) => e.message, onRight: () => "valid" })
    expect(messages(Event.EventId, "a\ud800")).toContain("an event id must not contain an unpaired UTF-16 surrogate")
    expect(messages(Event.EventId, "a\u0000")).toContain("an event id must not contain a NUL character")
    expect(messages(Event.EventType, "Noted\udfff")).toContain(
      "an event type must not contain an unpaired UTF-16 surrogate"
    )
    expect(messages(Event.EventType, "No\u0000ted")).toContain("an event type must not contain a NUL character")
    expect(messages(Event.EventType, "Noted😀")).toBe("valid")
    expect(messages(Event.EventId, "id-😀")).toBe("valid")
  })

  it("reads the event types of a union of tagged structs or tagged classes", () => {
    expect(Event.tags(Doc.DocumentEvent)).toEqual(["TitleChanged", "SectionEdited", "CommentAdded", "DocumentDeleted"])
    expect(Event.tags(Schema.Union(Renamed, Doc.TitleChanged))).toEqual(["Renamed", "TitleChanged"])
  })

  it.effect("encodes to a type and data without the tag, and decodes back", () =>
    Effect.gen(function*() {
      const encoded = yield* Event.encode(Doc.DocumentEvent)({ _tag: "SectionEdited", section: "intro", text: "x" })
      expect(encoded).toEqual({ type: "SectionEdited", data: { section: "intro", text: "x" } })
      expect(yield* Event.decode(Doc.DocumentEvent)(encoded)).toEqual({
        _tag: "SectionEdited",
        section: "intro",
        text: "x"
      })
    }))

  it.effect("the encoded form is one type: encode gives it, typed by the domain's tags; decode and detection take it", () =>
    Effect.gen(function*() {
      const encoded = yield* Event.encode(Doc.DocumentEvent)({ _tag: "TitleChanged", title: "t" })
      expectTypeOf(encoded).toEqualTypeOf<Event.EncodedEvent<Doc.DocumentEvent["_tag"]>>()
      expectTypeOf<Conflict.Proposed>().toEqualTypeOf<Event.EncodedEvent>()
      expectTypeOf<Conflict.Committed>().toMatchTypeOf<Event.EncodedEvent>()
      expectTypeOf<Event.EventData>().toMatchTypeOf<Event.EncodedEvent>()
      expectTypeOf<Event.RecordedEvent>().toMatchTypeOf<Event.EncodedEvent>()
      expectTypeOf(ConflictRegistry.isConflict).parameter(1).toEqualTypeOf<Event.EncodedEvent>()
      const decoded: Doc.DocumentEvent = yield* Event.decode(Doc.DocumentEvent)(encoded)
      expect(decoded).toEqual({ _tag: "TitleChanged", title: "t" })
    }))

  it.effect("rejects data that fails the Schema, and data that is not an object", () =>
    Effect.gen(function*() {
      const decode = Event.decode(Doc.DocumentEvent)
      const wrongField = yield* Effect.flip(decode({ type: "SectionEdited", data: { section: 3, text: "x" } }))
      expect(wrongField.message).toContain("section")
      const notObject = yield* Effect.flip(decode({ type: "DocumentDeleted", data: 42 }))
      expect(notObject._tag).toBe("ParseError")
      const unknownType = yield* Effect.flip(decode({ type: "Nope", data: {} }))
      expect(unknownType._tag).toBe("ParseError")
    }))

  it.effect("metadata keeps a __proto__ key as JSON.parse gives it, through decoding, encoding and a store", () =>
    Effect.gen(function*() {
      const parsed = JSON.parse(`{"type":"Noted","data":{"__proto__":{"d":1}},"metadata":{"__proto__":{"m":1}}}`)
      const decoded = Schema.decodeUnknownSync(Event.EventData)(parsed)
      for (const value of [decoded.data, decoded.metadata, Schema.encodeSync(Event.EventData)(decoded).metadata]) {
        expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
        expect(Object.keys(value as object)).toEqual(["__proto__"])
      }
      const store = yield* EventStore.makeMemory()
      const stream = StreamId.make("proto")
      yield* store.append(stream, ExpectedVersion.noStream, [decoded])
      const [stored] = yield* Stream.runCollect(store.read(stream))
      expect(JSON.stringify(Schema.encodeSync(Event.RecordedEvent)(stored!).metadata)).toBe(`{"__proto__":{"m":1}}`)
      // Anything but an object is not metadata.
      for (const metadata of [[1], null, "x", 1]) {
        expect(Either.isLeft(Schema.decodeUnknownEither(Event.EventData)({ type: "Noted", data: {}, metadata }))).toBe(
          true
        )
      }
    }))

  it("makeId makes random UUIDs of version 4, each new, every random digit taking every value", () => {
    const ids = Array.from({ length: 10_000 }, () => Event.makeId())
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(new Set(ids).size).toBe(ids.length)
    // Every position but the version's and the variant's holds a random digit: over 10,000 ids each of the 16 values
    // shows up at each of them (a digit missing by chance has odds of about 16 * (15/16)^10000).
    for (let position = 0; position < 36; position++) {
      if ([8, 13, 14, 18, 19, 23].includes(position)) continue
      expect(new Set(ids.map((id) => id[position])).size).toBe(16)
    }
    expect(new Set(ids.map((id) => id[19])).size).toBe(4)
  })

  it("ids are non-empty, bounded and NUL-free", () => {
    expect(Schema.is(Event.EventId)(Event.makeId())).toBe(true)
    expect(Schema.is(Event.EventId)("")).toBe(false)
    expect(Schema.is(Event.EventId)("a\u0000b")).toBe(false)
    expect(Schema.is(Event.EventId)("x".repeat(129))).toBe(false)
  })

  it("ids, types and stream ids count their length in code points, as JSON Schema's maxLength does", () => {
    const limits = [[Event.EventId, 128, "an event id"], [Event.EventType, 256, "an event type"], [
      StreamId.StreamId,
      512,
      "a stream id"
    ]] as const
    for (const [schema, max, what] of limits) {
      const asSchema = schema as Schema.Schema<any, string>
      const decode = Schema.decodeUnknownEither(asSchema)
      // An emoji is two UTF-16 units and one code point; a BMP character is one of each.
      expect(Either.isRight(decode("😀".repeat(max))), what).toBe(true)
      expect(Either.isRight(decode("é".repeat(max - 1) + "😀")), what).toBe(true)
      for (const over of ["😀".repeat(max + 1), "x".repeat(max + 1), "x".repeat(max) + "😀"]) {
        const message = Either.match(decode(over), { onLeft: (e) => e.message, onRight: () => "valid" })
        expect(message, what).toContain(`${what} must be at most ${max} characters (Unicode code points)`)
      }
      expect(JSONSchema.make(asSchema)).toMatchObject({
        $defs: { [schema.ast.annotations[SchemaAST.IdentifierAnnotationId] as string]: { maxLength: max } }
      })
    }
  })

  it("stores count the same way: a type of 256 emoji is appended, one of 257 is InvalidEventData", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const stream = StreamId.make("😀".repeat(512))
      const appended = yield* store.append(stream, ExpectedVersion.noStream, [
        { id: Event.EventId.make("😀".repeat(128)), type: "😀".repeat(256), data: {} }
      ])
      expect(appended.lastVersion).toBe(1)
      const error = yield* Effect.flip(
        store.append(stream, ExpectedVersion.any, [{ type: "😀".repeat(257), data: {} }])
      )
      expect(error).toMatchObject({ _tag: "InvalidEventData", reason: expect.stringContaining("256 characters") })
      const tooLong = yield* Effect.flip(store.version("😀".repeat(513) as StreamId.StreamId))
      expect(tooLong).toMatchObject({ _tag: "InvalidArgument", reason: expect.stringContaining("512 characters") })
    }).pipe(Effect.provide(EventStore.layerMemory()), Effect.runPromise))
})
