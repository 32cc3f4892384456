import { ConflictRegistry, Event, EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import { EventStoreSuite } from "@concord/testing/vitest"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Schema, Stream } from "effect"
import * as Doc from "./fixtures/Document.js"

EventStoreSuite.run("layerMemory", EventStore.layerMemory())

const Strict = Schema.Union(
  Schema.TaggedStruct("Titled", { title: Schema.String.pipe(Schema.maxLength(5)) }),
  Doc.CommentAdded
)
const registry = ConflictRegistry.make(Strict).pipe(ConflictRegistry.never("CommentAdded"))

describe("EventStore.typed", () => {
  it.effect("appends typed events and reads them back decoded", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const docs = EventStore.typed(store, {
        schema: Doc.DocumentEvent,
        registry: ConflictRegistry.make(Doc.DocumentEvent)
      })
      const id = StreamId.make("doc-1")
      yield* docs.append(id, ExpectedVersion.noStream, [
        { _tag: "TitleChanged", title: "A" },
        { event: { _tag: "CommentAdded", section: "intro", text: "hi" }, metadata: { by: "joe" } }
      ])
      const raw = Chunk.toArray(yield* Stream.runCollect(store.read(id)))
      expect(raw.map((e) => [e.type, e.data])).toEqual([
        ["TitleChanged", { title: "A" }],
        ["CommentAdded", { section: "intro", text: "hi" }]
      ])
      const typed = Chunk.toArray(yield* Stream.runCollect(docs.read(id)))
      expect(typed.map((e) => e.data)).toEqual([
        { _tag: "TitleChanged", title: "A" },
        { _tag: "CommentAdded", section: "intro", text: "hi" }
      ])
      expect(typed[1]!.metadata).toEqual({ by: "joe" })
    }))

  it.effect("uses the domain registry for its appends", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const strict = EventStore.typed(store, { schema: Strict, registry })
      const id = StreamId.make("doc-2")
      yield* strict.append(id, ExpectedVersion.noStream, [{ _tag: "Titled", title: "a" }])
      yield* strict.append(id, ExpectedVersion.exact(1), [{ _tag: "Titled", title: "b" }])
      const result = yield* strict.append(id, ExpectedVersion.exact(1), [{
        _tag: "CommentAdded",
        section: "s",
        text: ""
      }])
      expect(result.rebasedOver).toBe(1)
    }))

  it.effect("an event that fails its Schema is InvalidEventData and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const strict = EventStore.typed(store, { schema: Strict, registry })
      const id = StreamId.make("doc-3")
      const error = yield* Effect.flip(
        strict.append(id, ExpectedVersion.noStream, [{ _tag: "Titled", title: "ok" }, {
          _tag: "Titled",
          title: "too long"
        }])
      )
      expect(error).toMatchObject({ _tag: "InvalidEventData", index: 1, type: "Titled" })
      expect(error.message).toContain("5")
      expect(yield* store.version(id)).toBe(0)
    }))

  it.effect("a stored event the Schema cannot decode is UndecodableEvent with its version", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const strict = EventStore.typed(store, { schema: Strict, registry })
      const id = StreamId.make("doc-4")
      yield* store.append(id, ExpectedVersion.noStream, [
        { type: "Titled", data: { title: "ok" } },
        { type: "Titled", data: { title: 42 } }
      ])
      const error = yield* Effect.flip(Stream.runCollect(strict.read(id)))
      expect(error).toMatchObject({ _tag: "UndecodableEvent", version: 2, type: "Titled" })
    }))
})

describe("layerMemory", () => {
  it.effect("keeps its own copy: changing appended data afterwards changes nothing stored", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const id = StreamId.make("copy-1")
      const data = { list: [1, 2] }
      yield* store.append(id, ExpectedVersion.any, [{ type: "X", data }])
      data.list.push(3)
      const [stored] = Chunk.toArray(yield* Stream.runCollect(store.read(id)))
      expect(stored!.data).toEqual({ list: [1, 2] })
    }))

  it.effect("a re-sent batch gets its original result back, the versions and the rebase it had", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory({
        registry: ConflictRegistry.untyped().pipe(ConflictRegistry.never("Note"))
      })
      const id = StreamId.make("replay-1")
      yield* store.append(id, ExpectedVersion.noStream, [{ type: "Note", data: {} }, { type: "Note", data: {} }])
      const batch = [1, 2, 3].map((n) => ({ id: Event.EventId.make(`replay-1-${n}`), type: "Note", data: { n } }))
      const first = yield* store.append(id, ExpectedVersion.exact(1), batch)
      expect(first).toEqual({ streamId: id, firstVersion: 3, lastVersion: 5, rebasedOver: 1 })
      yield* store.append(id, ExpectedVersion.any, [{ type: "Note", data: {} }])
      expect(yield* store.append(id, ExpectedVersion.exact(1), batch)).toEqual(first)
      expect(yield* store.append(id, ExpectedVersion.any, batch)).toEqual(first)
      expect(yield* store.version(id)).toBe(6)
    }))

  it.effect("reads give equal frozen events, in log order, however often they are read", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const [a, b] = [StreamId.make("reads-a"), StreamId.make("reads-b")]
      yield* store.append(a, ExpectedVersion.any, [{ type: "X", data: { n: 1 }, metadata: { by: "me" } }])
      yield* store.append(b, ExpectedVersion.any, [{ type: "Y", data: [2] }])
      yield* store.append(a, ExpectedVersion.any, [{ type: "X", data: { n: 3 } }])
      const read = () => Effect.map(Stream.runCollect(store.read(a)), Chunk.toArray)
      const [once, twice] = [yield* read(), yield* read()]
      expect(twice).toEqual(once)
      expect(once.map((event) => [event.version, Position.toString(event.position)])).toEqual([[1, "1"], [2, "3"]])
      expect(once.every((event) => Object.isFrozen(event) && Object.isFrozen(event.position))).toBe(true)
      const log = Chunk.toArray(yield* Stream.runCollect(store.readAll()))
      expect(log.map((event) => [event.streamId, event.type, event.data])).toEqual([
        [a, "X", { n: 1 }],
        [b, "Y", [2]],
        [a, "X", { n: 3 }]
      ])
      expect(log[0]).toEqual(once[0])
      expect(log[0]!.metadata).toEqual({ by: "me" })
    }))

  it.effect("uses the registry it was made with", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory({
        registry: ConflictRegistry.untyped().pipe(ConflictRegistry.never("Note"))
      })
      const id = StreamId.make("registry-1")
      yield* store.append(id, ExpectedVersion.noStream, [{ type: "Note", data: {} }])
      yield* store.append(id, ExpectedVersion.exact(1), [{ type: "Note", data: {} }])
      expect(yield* store.append(id, ExpectedVersion.exact(1), [{ type: "Note", data: {} }])).toMatchObject({
        firstVersion: 3,
        rebasedOver: 1
      })
    }))
})
