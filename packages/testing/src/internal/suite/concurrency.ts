// Concurrency: many fibers appending stale batches to a few hot streams, and read-decide-append writers whose reads
// and appends fast-check's scheduler interleaves; the Checker judges every log.
import { type Event, EventStore, ExpectedVersion } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Random from "effect/Random"
import * as Checker from "../../Checker.js"
import { attempt, event, fold, freshStream, logsOf, readAll, type StoreTests } from "./fixtures.js"

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

export const concurrency = (it: StoreTests): void => {
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
}
