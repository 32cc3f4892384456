import { ConflictRegistry, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Schema, Stream } from "effect"
import * as Doc from "./fixtures/Document.js"

const Strict = Schema.Union(
  Schema.TaggedStruct("Titled", { title: Schema.String.pipe(Schema.maxLength(5)) }),
  Doc.CommentAdded
)

const setup = Effect.gen(function*() {
  const store = yield* EventStore.makeMemory()
  const strict = EventStore.typed(store, { schema: Strict, registry: ConflictRegistry.make(Strict) })
  yield* store.append(StreamId.make("doc-1"), ExpectedVersion.noStream, [
    { type: "Titled", data: { title: "one" } },
    { type: "Archived", data: {} }, // another domain's type
    { type: "CommentAdded", data: { section: "s", text: "hi" } }
  ])
  yield* store.append(StreamId.make("note-1"), ExpectedVersion.noStream, [{ type: "Titled", data: { title: "two" } }])
  return { store, strict }
})

describe("EventStore.typed: the read side", () => {
  it.effect("readAll reads only the domain's types, decoded, with their positions", () =>
    Effect.gen(function*() {
      const { store, strict } = yield* setup
      const typed = Chunk.toArray(yield* Stream.runCollect(strict.readAll()))
      expect(typed.map((event) => event.data)).toEqual([
        { _tag: "Titled", title: "one" },
        { _tag: "CommentAdded", section: "s", text: "hi" },
        { _tag: "Titled", title: "two" }
      ])
      const raw = Chunk.toArray(yield* Stream.runCollect(store.readAll()))
      expect(typed.map((event) => event.position)).toEqual(
        raw.filter((event) => event.type !== "Archived").map((event) => event.position)
      )
    }))

  it.effect("a filter's types are narrowed to the domain's, and its categories kept", () =>
    Effect.gen(function*() {
      const { strict } = yield* setup
      const titled = yield* Stream.runCollect(strict.readAll({ filter: { types: ["Titled", "Archived"] } }))
      expect(Chunk.toArray(titled).map((event) => event.streamId)).toEqual(["doc-1", "note-1"])
      const notes = yield* Stream.runCollect(strict.readAll({ filter: { categories: ["note"] } }))
      expect(Chunk.toArray(notes).map((event) => event.data)).toEqual([{ _tag: "Titled", title: "two" }])
    }))

  it.live("subscribe delivers the domain's events decoded, live", () =>
    Effect.gen(function*() {
      const { store, strict } = yield* setup
      const last = Chunk.toArray(yield* Stream.runCollect(store.readAll())).at(-1)!.position
      const fiber = yield* strict.subscribe({ after: last }).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      yield* store.append(StreamId.make("doc-2"), ExpectedVersion.noStream, [
        { type: "Archived", data: {} },
        { type: "Titled", data: { title: "live" } }
      ])
      const delivered = yield* Fiber.join(fiber).pipe(Effect.timeout("2 seconds"))
      expect(Chunk.toArray(delivered).map((event) => event.data)).toEqual([{ _tag: "Titled", title: "live" }])
    }))

  it.effect("an event of the domain's type that its Schema refuses fails the read with UndecodableEvent", () =>
    Effect.gen(function*() {
      const { store, strict } = yield* setup
      yield* store.append(StreamId.make("doc-3"), ExpectedVersion.noStream, [
        { type: "Titled", data: { title: "far too long" } }
      ])
      const result = yield* Stream.runCollect(strict.readAll()).pipe(Effect.either)
      expect(Either.isLeft(result) && result.left._tag).toBe("UndecodableEvent")
    }))
})
