// A plain Node program, run by WithoutVitest.test.ts outside vitest: the package's index (Laws, Checker) must load and
// work in a script or under another test runner, with no vitest around.
import { ConflictRegistry, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Checker, Laws } from "@concord/testing"
import { Effect, Schema } from "effect"

const Incremented = Schema.TaggedStruct("Incremented", { by: Schema.Int })
const Reset = Schema.TaggedStruct("Reset", {})
const CounterEvent = Schema.Union(Incremented, Reset)
type CounterEvent = typeof CounterEvent.Type

const evolve = (count: number, event: CounterEvent) => event._tag === "Incremented" ? count + event.by : 0

// Increments commute with each other; a reset does not commute with anything.
const sound = ConflictRegistry.make(CounterEvent).pipe(
  ConflictRegistry.always("Reset"),
  ConflictRegistry.conflicts("Incremented", ["Reset"])
)
const tooLenient = ConflictRegistry.make(CounterEvent).pipe(ConflictRegistry.never("Incremented"))

const commutation = (registry: ConflictRegistry.ConflictRegistry<CounterEvent, any>) =>
  Laws.commutation({ registry, evolve, initialState: 0, run: { seed: 42 } }).pipe(
    Effect.match({ onFailure: (error) => error._tag, onSuccess: () => "holds" })
  )

const program = Effect.gen(function*() {
  console.log(`commutation, sound registry: ${yield* commutation(sound)}`)
  console.log(`commutation, too lenient registry: ${yield* commutation(tooLenient)}`)

  const store = yield* EventStore.makeMemory({ registry: sound })
  const streamId = StreamId.make("counter-1")
  const attempt = (type: CounterEvent["_tag"], data: object) =>
    Effect.gen(function*() {
      const events = [{ id: Event.makeId(), type, data }]
      const outcome = yield* store.append(streamId, ExpectedVersion.noStream, events).pipe(
        Effect.match({
          onFailure: (error): Checker.Attempt["outcome"] => ({ _tag: "Rejected", error: error._tag }),
          onSuccess: (result): Checker.Attempt["outcome"] => ({ _tag: "Acknowledged", result })
        })
      )
      return { streamId, expectedVersion: ExpectedVersion.noStream, events, registry: sound, outcome }
    })
  // Three writers that all saw an empty stream: the second increment goes past the first, the reset is refused.
  const attempts = [yield* attempt("Incremented", { by: 1 }), yield* attempt("Incremented", { by: 2 })]
  attempts.push(yield* attempt("Reset", {}))
  console.log(`outcomes: ${attempts.map((a) => a.outcome._tag).join(", ")}`)

  const logs = yield* Effect.provideService(Checker.readLogs([streamId]), EventStore.EventStore, store)
  console.log(`checker, the store's log: problems found: ${Checker.check({ logs, attempts }).length}`)
  const lost = new Map([[streamId as string, logs.get(streamId)!.slice(0, 1)]])
  console.log(`checker, a log that lost an event: problems found: ${Checker.check({ logs: lost, attempts }).length}`)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
