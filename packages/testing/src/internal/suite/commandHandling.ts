// Command handling on the store under test: the state CommandHandler.handle returns is the state the stream is at
// after its append, also when the append went past events committed since the caller decided (the registry let it).
import { CommandHandler, ConflictRegistry, type Decider, EventStore, ExpectedVersion } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { freshStream, type StoreTests } from "./fixtures.js"

const Renamed = Schema.TaggedStruct("Renamed", { name: Schema.String })
const Noted = Schema.TaggedStruct("Noted", { note: Schema.String })
const Deleted = Schema.TaggedStruct("Deleted", {})
const RecordEvent = Schema.Union(Renamed, Noted, Deleted)
type RecordEvent = typeof RecordEvent.Type

// Notes commute with renames and each other; a rename conflicts with a rename; a deletion with everything. These are
// the suite registry's rules for the three types, so a store that applies the suite's registry to every append, not
// the one an append brings, decides these appends alike.
const registry = ConflictRegistry.make(RecordEvent).pipe(
  ConflictRegistry.always("Deleted"),
  ConflictRegistry.conflicts("Renamed", ["Renamed", "Deleted"]),
  ConflictRegistry.conflicts("Noted", ["Deleted"])
)
const domain = { schema: RecordEvent, registry }

interface State {
  readonly name: string | null
  readonly notes: ReadonlyArray<string>
  readonly deleted: boolean
}

type Command = RecordEvent

const evolve = (state: State, event: RecordEvent): State =>
  event._tag === "Renamed"
    ? { ...state, name: event.name }
    : event._tag === "Noted"
    ? { ...state, notes: [...state.notes, event.note] }
    : { ...state, deleted: true }

// The command is the event to record: the decision is trivial so the test is about what the handler returns.
const decider: Decider.Decider<Command, RecordEvent, State> = {
  initialState: { name: null, notes: [], deleted: false },
  evolve,
  decide: (command) => Effect.succeed([command])
}

/** Appends `history`, then lets `racing` commit after the caller decided at the end of `history`, then handles. */
const handleBehind = (history: ReadonlyArray<RecordEvent>, racing: ReadonlyArray<RecordEvent>, command: Command) =>
  Effect.gen(function*() {
    const store = yield* EventStore.forDomain(domain)
    const id = freshStream("handler")
    if (history.length > 0) yield* store.append(id, ExpectedVersion.noStream, history)
    if (racing.length > 0) yield* store.append(id, ExpectedVersion.any, racing)
    const handled = yield* Effect.either(
      CommandHandler.handle(decider, id, command, { ...domain, expectedVersion: ExpectedVersion.exact(history.length) })
    )
    const loaded = yield* CommandHandler.load(decider, id, domain)
    return { handled, loaded }
  })

const event: FastCheck.Arbitrary<RecordEvent> = FastCheck.oneof(
  FastCheck.constantFrom("a", "b").map((name) => Renamed.make({ name })),
  FastCheck.constantFrom("n1", "n2", "n3").map((note) => Noted.make({ note })),
  FastCheck.constant(Deleted.make({}))
)

export const commandHandling = (it: StoreTests): void => {
  it.effect("the state handle returns includes the events its append went past (Joe and Harry)", () =>
    Effect.gen(function*() {
      const { handled, loaded } = yield* handleBehind(
        [Renamed.make({ name: "acme" })],
        [Noted.make({ note: "harry's note" })],
        Renamed.make({ name: "acme ltd" })
      )
      const result = yield* handled
      expect(result.append).toMatchObject({ firstVersion: 3, lastVersion: 3, rebasedOver: 1 })
      expect(result.state).toEqual({ name: "acme ltd", notes: ["harry's note"], deleted: false })
      expect(loaded).toEqual({ state: result.state, version: 3 })
    }))

  it.effect("whatever committed behind the caller, an accepted command's state is the stream's state after it", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const property = FastCheck.asyncProperty(
        FastCheck.array(event, { maxLength: 4 }),
        FastCheck.array(event, { maxLength: 4 }),
        event,
        async (history, racing, command) => {
          const { handled, loaded } = await Effect.runPromise(
            Effect.provideService(handleBehind(history, racing, command), EventStore.EventStore, store)
          )
          if (handled._tag === "Left") {
            expect(handled.left._tag).toBe("ConcurrencyConflict")
            return
          }
          expect(loaded).toEqual({ state: handled.right.state, version: handled.right.append.lastVersion })
        }
      )
      yield* Effect.promise(() => FastCheck.assert(property, { numRuns: 40 }))
    }))
}
