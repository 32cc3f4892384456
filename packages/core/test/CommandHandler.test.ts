import {
  CommandHandler,
  Conflict,
  ConflictRegistry,
  Decider,
  EventStore,
  EventStoreError,
  ExpectedVersion,
  StreamId,
  StreamVersion
} from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Schedule, Schema } from "effect"
import * as Doc from "./fixtures/Document.js"

interface State {
  readonly title: string
  readonly sections: Readonly<Record<string, string>>
  readonly deleted: boolean
}

type Command =
  | { readonly _tag: "Rename"; readonly title: string }
  | { readonly _tag: "Edit"; readonly section: string; readonly text: string }

class DocumentGone extends Schema.TaggedError<DocumentGone>()("DocumentGone", {}) {}

const decisions: Array<State> = []

const decider = Decider.make({
  initialState: { title: "", sections: {}, deleted: false } as State,
  evolve: (state: State, event: Doc.DocumentEvent): State => {
    switch (event._tag) {
      case "TitleChanged":
        return { ...state, title: event.title }
      case "SectionEdited":
        return { ...state, sections: { ...state.sections, [event.section]: event.text } }
      case "CommentAdded":
        return state
      case "DocumentDeleted":
        return { ...state, deleted: true }
    }
  },
  decide: (command: Command, state: State): Effect.Effect<ReadonlyArray<Doc.DocumentEvent>, DocumentGone> => {
    decisions.push(state)
    if (state.deleted) return Effect.fail(new DocumentGone())
    return Effect.succeed(
      command._tag === "Rename"
        ? [Doc.TitleChanged.make({ title: command.title })]
        : [Doc.SectionEdited.make({ section: command.section, text: command.text })]
    )
  }
})

const registry = ConflictRegistry.make(Doc.DocumentEvent).pipe(
  ConflictRegistry.conflicts("TitleChanged", ["TitleChanged", "DocumentDeleted"]),
  ConflictRegistry.conflicts("SectionEdited", ["DocumentDeleted"]),
  ConflictRegistry.conflictsWhen("SectionEdited", "SectionEdited", ConflictRegistry.sameKey("section"))
)
const options = { schema: Doc.DocumentEvent, registry }

/** The memory store, recording the options of every read. */
const spied = (reads: Array<EventStore.ReadOptions | undefined>) =>
  Layer.effect(
    EventStore.EventStore,
    Effect.map(EventStore.makeMemory(), (store): EventStore.Service => ({
      ...store,
      read: (streamId, options) => {
        reads.push(options)
        return store.read(streamId, options)
      }
    }))
  )

const seed = (id: StreamId.StreamId, events: ReadonlyArray<Doc.DocumentEvent>) =>
  Effect.flatMap(EventStore.forDomain(options), (store) => store.append(id, ExpectedVersion.any, events))

describe("CommandHandler", () => {
  const reads: Array<EventStore.ReadOptions | undefined> = []

  it.effect("loads the stream, decides on its state and appends at its version", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-1")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      const result = yield* CommandHandler.handle(decider, id, { _tag: "Rename", title: "B" }, options)
      expect(result.attempts).toBe(1)
      expect(result.append).toMatchObject({ firstVersion: 2, lastVersion: 2, rebasedOver: 0 })
      expect(result.rebasedOver).toBe(0)
      expect(result.state.title).toBe("B")
      expect(yield* CommandHandler.load(decider, id, options)).toEqual({ state: result.state, version: 2 })
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("decides on the state at the caller's expected version and lets the registry pass it on", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-2")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      yield* seed(id, [Doc.SectionEdited.make({ section: "body", text: "theirs" })])
      decisions.length = 0
      const result = yield* CommandHandler.handle(decider, id, { _tag: "Edit", section: "intro", text: "mine" }, {
        ...options,
        expectedVersion: ExpectedVersion.exact(1)
      })
      expect(decisions).toEqual([{ title: "A", sections: {}, deleted: false }])
      expect(result.append).toMatchObject({ firstVersion: 3, rebasedOver: 1 })
      expect(result.rebasedOver).toBe(1)
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("the state returned is the state at the appended version, with the events the append went past", () =>
    Effect.gen(function*() {
      // Both open the document at version 1; the other writer's section lands at version 2, then this edit at 3.
      const id = StreamId.make("doc-9")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      yield* seed(id, [Doc.SectionEdited.make({ section: "body", text: "theirs" })])
      const result = yield* CommandHandler.handle(decider, id, { _tag: "Edit", section: "intro", text: "mine" }, {
        ...options,
        expectedVersion: ExpectedVersion.exact(1)
      })
      expect(result.append).toMatchObject({ firstVersion: 3, lastVersion: 3, rebasedOver: 1 })
      expect(result.state.sections).toEqual({ body: "theirs", intro: "mine" })
      expect(yield* CommandHandler.load(decider, id, options)).toEqual({ state: result.state, version: 3 })
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("the state includes skipped events the registry could leave unread", () =>
    Effect.gen(function*() {
      // SectionEdited never conflicts with TitleChanged, so the store's check need not read the rename: the state
      // must read it all the same.
      const id = StreamId.make("doc-10")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      yield* seed(id, [Doc.TitleChanged.make({ title: "B" }), Doc.CommentAdded.make({ section: "body", text: "c" })])
      const result = yield* CommandHandler.handle(decider, id, { _tag: "Edit", section: "body", text: "mine" }, {
        ...options,
        expectedVersion: ExpectedVersion.exact(1)
      })
      expect(result.append).toMatchObject({ firstVersion: 4, rebasedOver: 2 })
      expect(result.state).toEqual({ title: "B", sections: { body: "mine" }, deleted: false })
      expect(yield* CommandHandler.load(decider, id, options)).toEqual({ state: result.state, version: 4 })
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("an uncontended command reads nothing after its load", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-11")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      reads.length = 0
      yield* CommandHandler.handle(decider, id, { _tag: "Rename", title: "B" }, options)
      expect(reads).toEqual([{ from: 1, limit: undefined }])
    }).pipe(Effect.provide(spied(reads))))

  it.effect.prop(
    "the state returned equals load at the appended version when no one writes after",
    {
      history: fc.array(Doc.events, { maxLength: 6 }),
      during: fc.array(Doc.events, { maxLength: 3 }),
      decidedAt: fc.option(fc.nat(6), { nil: undefined }),
      command: fc.oneof(
        fc.record({ _tag: fc.constant("Rename" as const), title: fc.string() }),
        fc.record({
          _tag: fc.constant("Edit" as const),
          section: fc.constantFrom("intro", "body"),
          text: fc.string()
        })
      )
    },
    ({ command, decidedAt, during, history }) =>
      Effect.gen(function*() {
        const id = StreamId.make("doc-prop")
        if (history.length > 0) yield* seed(id, history)
        // Another writer commits `during` while the command is being decided.
        const raced = Decider.make({
          ...decider,
          decide: (command: Command, state: State) =>
            Effect.zipRight(during.length > 0 ? seed(id, during) : Effect.void, decider.decide(command, state))
        })
        const expectedVersion = decidedAt === undefined
          ? undefined
          : ExpectedVersion.exact(Math.min(decidedAt, history.length))
        const outcome = yield* Effect.either(
          CommandHandler.handle(raced, id, command, { ...options, expectedVersion })
        )
        if (outcome._tag === "Left") {
          expect(["ConcurrencyConflict", "DocumentGone"]).toContain(outcome.left._tag)
          return
        }
        const result = outcome.right
        expect(result.append.lastVersion).toBe(history.length + during.length + result.events.length)
        expect(yield* CommandHandler.load(decider, id, options)).toEqual({
          state: result.state,
          version: result.append.lastVersion
        })
      }).pipe(Effect.provide(EventStore.layerMemory()))
  )

  it.effect("without a retry a real conflict fails at once", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-3")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" }), Doc.TitleChanged.make({ title: "B" })])
      const error = yield* Effect.flip(
        CommandHandler.handle(decider, id, { _tag: "Rename", title: "C" }, {
          ...options,
          expectedVersion: ExpectedVersion.exact(1)
        })
      )
      expect(error).toMatchObject({ _tag: "ConcurrencyConflict", expectedVersion: 1, actualVersion: 2 })
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("with a retry it catches up on the new events only, decides again and appends", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-4")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" }), Doc.TitleChanged.make({ title: "B" })])
      decisions.length = 0
      reads.length = 0
      const result = yield* CommandHandler.handle(decider, id, { _tag: "Rename", title: "C" }, {
        ...options,
        expectedVersion: ExpectedVersion.exact(1),
        retry: Schedule.recurs(3)
      })
      // The load up to the caller's version, then, after the conflict, only what was committed since.
      expect(reads).toEqual([{ from: 1, limit: 1 }, { from: 2, limit: undefined }])
      expect(decisions.map((s) => s.title)).toEqual(["A", "B"])
      expect(result.attempts).toBe(2)
      expect(result.append).toMatchObject({ firstVersion: 3, rebasedOver: 0 })
      // The append itself went past nothing, but the command was rebased over B to get there.
      expect(result.rebasedOver).toBe(1)
    }).pipe(Effect.provide(spied(reads))))

  it.effect("an expected version the stream has not reached fails before deciding or appending", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-8")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      decisions.length = 0
      reads.length = 0
      const error = yield* Effect.flip(
        CommandHandler.handle(decider, id, { _tag: "Rename", title: "C" }, {
          ...options,
          expectedVersion: ExpectedVersion.exact(3)
        })
      )
      expect(error).toBeInstanceOf(Conflict.WrongExpectedVersion)
      expect(error).toMatchObject({ streamId: id, expectedVersion: 3, actualVersion: 1 })
      expect(decisions).toEqual([])
      expect(reads).toEqual([{ from: 1, limit: 3 }])
      expect(yield* Effect.flatMap(EventStore.EventStore, (store) => store.version(id))).toBe(1)
    }).pipe(Effect.provide(spied(reads))))

  it.effect("an expected version no store takes fails with InvalidArgument before anything is read", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-9")
      decisions.length = 0
      reads.length = 0
      for (const version of [-1, 1.5, Number.NaN, StreamVersion.max + 1]) {
        const error = yield* Effect.flip(
          CommandHandler.handle(decider, id, { _tag: "Rename", title: "C" }, {
            ...options,
            expectedVersion: { _tag: "Exact", version } as ExpectedVersion.ExpectedVersion
          })
        )
        expect(EventStoreError.isInvalidArgument(error), String(version)).toBe(true)
        expect(error).toMatchObject({ operation: "append", streamId: id })
      }
      expect(decisions).toEqual([])
      expect(reads).toEqual([])
    }).pipe(Effect.provide(spied(reads))))

  it.effect("ExpectedVersion.any decides on the current state and appends without a check", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-12")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      // A rename during the decision: a conflict under the registry, but `any` asks for no check.
      const raced = Decider.make({
        ...decider,
        decide: (command: Command, state: State) =>
          Effect.zipRight(seed(id, [Doc.TitleChanged.make({ title: "B" })]), decider.decide(command, state))
      })
      const result = yield* CommandHandler.handle(raced, id, { _tag: "Rename", title: "C" }, {
        ...options,
        expectedVersion: ExpectedVersion.any
      })
      expect(result.append).toMatchObject({ firstVersion: 3, lastVersion: 3 })
      expect(result.rebasedOver).toBe(1)
      expect(yield* CommandHandler.load(decider, id, options)).toEqual({ state: result.state, version: 3 })
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("a redecision that fails ends the retries with the domain error, appending nothing", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-5")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" }), Doc.DocumentDeleted.make()])
      const error = yield* Effect.flip(CommandHandler.handle(decider, id, { _tag: "Rename", title: "C" }, {
        ...options,
        expectedVersion: ExpectedVersion.exact(1),
        retry: Schedule.recurs(3)
      }))
      expect(error._tag).toBe("DocumentGone")
      expect(yield* Effect.flatMap(EventStore.EventStore, (store) => store.version(id))).toBe(2)
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("retries are bounded by the schedule", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-6")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      let rounds = 0
      // Someone renames the document during every decision, so every append conflicts.
      const contested = Decider.make({
        ...decider,
        decide: (command: Command, state: State) =>
          Effect.zipRight(
            Effect.tap(seed(id, [Doc.TitleChanged.make({ title: `other-${rounds}` })]), () => rounds++),
            decider.decide(command, state)
          )
      })
      const error = yield* Effect.flip(CommandHandler.handle(contested, id, { _tag: "Rename", title: "C" }, {
        ...options,
        retry: Schedule.recurs(2)
      }))
      expect(error._tag).toBe("ConcurrencyConflict")
      expect(rounds).toBe(3)
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("an expected version beyond the stream's end is WrongExpectedVersion", () =>
    Effect.gen(function*() {
      const id = StreamId.make("doc-7")
      yield* seed(id, [Doc.TitleChanged.make({ title: "A" })])
      const error = yield* Effect.flip(
        CommandHandler.handle(decider, id, { _tag: "Rename", title: "C" }, {
          ...options,
          expectedVersion: ExpectedVersion.exact(4)
        })
      )
      expect(error).toMatchObject({ _tag: "WrongExpectedVersion", expectedVersion: 4, actualVersion: 1 })
    }).pipe(Effect.provide(EventStore.layerMemory())))
})
