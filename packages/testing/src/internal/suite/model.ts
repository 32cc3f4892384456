// Model-based: random sequences of appends (stale ones included), re-sent batches and reads, each compared with a
// reference model that decides conflicts with Conflict.detect.
import { Conflict, type Event, EventStore, ExpectedVersion, type StreamId, type StreamVersion } from "@concord/core"
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { event, freshStream, options, readAll, registry, type StoreTests, withId } from "./fixtures.js"

export const modelBased = (it: StoreTests): void => {
  it.effect("model-based: any sequence of appends matches a reference model", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const run = <A, E2>(effect: Effect.Effect<A, E2>) => Effect.runPromise(Effect.either(effect))
      interface Model {
        readonly streams: Map<string, Array<Conflict.Committed>>
        readonly lastBatch:
          | { id: StreamId.StreamId; expected: number; events: Array<Event.EventData> }
          | undefined
      }
      interface Real {
        readonly streamIds: ReadonlyArray<StreamId.StreamId>
      }
      const committedOf = (model: Model, id: string) => model.streams.get(id) ?? []
      class Append implements FastCheck.AsyncCommand<Model, Real> {
        constructor(
          readonly stream: number,
          readonly behind: number,
          readonly events: ReadonlyArray<Event.EventData>
        ) {}
        check = () => true
        async run(model: Model, real: Real) {
          const id = real.streamIds[this.stream]!
          const log = committedOf(model, id)
          const expected = Math.max(0, log.length - this.behind)
          const batch = this.events.map(withId)
          const pairs = Conflict.detect(registry, log.slice(expected), batch)
          const outcome = await run(store.append(id, ExpectedVersion.exact(expected), batch, options))
          if (pairs.length > 0) {
            expect(outcome._tag === "Left" && outcome.left._tag).toBe("ConcurrencyConflict")
            return
          }
          expect(outcome).toMatchObject({
            _tag: "Right",
            right: { firstVersion: log.length + 1, lastVersion: log.length + batch.length }
          })
          model.streams.set(id, [
            ...log,
            ...batch.map((e, i) => ({ ...e, version: (log.length + i + 1) as StreamVersion.StreamVersion }))
          ])
          ;(model as { lastBatch: Model["lastBatch"] }).lastBatch = { id, expected, events: batch }
        }
        toString = () => `Append(${this.stream}, -${this.behind}, [${this.events.map((e) => e.type)}])`
      }
      class Resend implements FastCheck.AsyncCommand<Model, Real> {
        check = (model: Readonly<Model>) => model.lastBatch !== undefined
        async run(model: Model) {
          const { events, expected, id } = model.lastBatch!
          const before = committedOf(model, id).length
          const outcome = await run(store.append(id, ExpectedVersion.exact(expected), events, options))
          expect(outcome._tag).toBe("Right")
          expect(await Effect.runPromise(store.version(id))).toBe(before)
        }
        toString = () => "Resend"
      }
      class Read implements FastCheck.AsyncCommand<Model, Real> {
        constructor(readonly stream: number) {}
        check = () => true
        async run(model: Model, real: Real) {
          const id = real.streamIds[this.stream]!
          const outcome = await run(readAll(store, id))
          const log = outcome._tag === "Right" ? outcome.right : []
          expect(log.map((e) => [e.id, e.version, e.type])).toEqual(
            committedOf(model, id).map((e) => [e.id, e.version, e.type])
          )
        }
        toString = () => `Read(${this.stream})`
      }
      const anEvent = FastCheck.oneof(
        FastCheck.constant(event("Created")),
        FastCheck.constant(event("Deleted")),
        FastCheck.nat(5).map((n) => event("Renamed", { name: `n${n}` })),
        FastCheck.nat(5).map((n) => event("Noted", { note: `n${n}` })),
        FastCheck.constantFrom("a", "b").map((tag) => event("Tagged", { tag }))
      )
      const commands = [
        FastCheck.tuple(
          FastCheck.nat(1),
          FastCheck.nat(3),
          FastCheck.array(anEvent, { minLength: 1, maxLength: 3 })
        )
          .map(([stream, behind, events]) => new Append(stream, behind, events)),
        FastCheck.constant(new Resend()),
        FastCheck.nat(1).map((stream) => new Read(stream))
      ]
      const property = FastCheck.asyncProperty(
        FastCheck.commands(commands, { maxCommands: 30 }),
        async (cmds) => {
          const streamIds = [freshStream("model"), freshStream("model")]
          await FastCheck.asyncModelRun(
            () => ({ model: { streams: new Map(), lastBatch: undefined }, real: { streamIds } }),
            cmds
          )
        }
      )
      yield* Effect.promise(() => FastCheck.assert(property, { numRuns: 40 }))
    }), { timeout: 120_000 })
}
