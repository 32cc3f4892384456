// The read model's table against the pure fold of each client's events (ClientSummary), on SQLite and PostgreSQL:
// projected event by event, kept by the consumer, and after a crash in the middle of a transaction.
import { Consumer, Event, EventStore, ExpectedVersion, Position, StreamId, StreamVersion } from "@concord/core"
import { ClientSummary, Database, Events, ReadModel, Registry } from "@concord/example-crm"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, layer } from "@effect/vitest"
import { Arbitrary, Chunk, Effect, FastCheck as fc, Fiber, Option, Schedule, Stream } from "effect"
import { postgresSuites } from "./support/suites.js"

const pgUrl = inject("pgUrl")

const targets = [
  { suite: "the read model on SQLite", layer: Database.layerSqlite(":memory:"), skip: false },
  { suite: postgresSuites.readModel, layer: Database.layerPostgres(pgUrl ?? ""), skip: pgUrl === undefined }
]

type History = ReadonlyArray<readonly [string, Events.CrmEvent]>

const streams = ["client-a", "client-b", "client-c"]

/** Random histories: CRM events of every kind, in any order (none need come first), over a few client streams. */
const histories = fc.array(fc.tuple(fc.constantFrom(...streams), Arbitrary.make(Events.CrmEvent)), { maxLength: 40 })

const encode = Event.encode(Events.CrmEvent)

/** The history as a store records it: versions counted per stream, positions in log order. */
const recorded = (history: History) => {
  const versions = new Map<string, number>()
  return Effect.forEach(history, ([streamId, event], i) =>
    Effect.map(encode(event), ({ data, type }): Event.RecordedEvent => {
      const version = (versions.get(streamId) ?? 0) + 1
      versions.set(streamId, version)
      return {
        id: Event.makeId(),
        streamId: StreamId.make(streamId),
        version: StreamVersion.make(version),
        type,
        data,
        metadata: {},
        recordedAt: new Date(0),
        position: Position.make({ sequence: BigInt(i + 1) })
      }
    }))
}

/** What the table must hold: the fold of each stream's events, for the streams that have any. */
const folded = (history: History): ReadonlyArray<ClientSummary.ClientSummary> =>
  [...new Set(history.map(([streamId]) => streamId))].sort().map((streamId) =>
    ClientSummary.fold(streamId, history.filter(([id]) => id === streamId).map(([, event]) => event))
  )

const rowsOf = (prefix: string) =>
  Effect.map(ReadModel.list, (rows) => rows.filter((row) => row.streamId.startsWith(prefix)))

/** A known history over three streams of 50 events each, the first a registration, a third of the rest notes. */
const knownHistory = (prefix: string): History =>
  Array.from({ length: 50 }, (_, n) =>
    [0, 1, 2].map((s): readonly [string, Events.CrmEvent] => {
      const streamId = `${prefix}${s}`
      if (n === 0) return [streamId, Events.ClientRegistered.make({ name: `client ${s}`, value: 10 })]
      if (n % 3 === 1) {
        return [streamId, Events.MeetingNoteAdded.make({ noteId: `n${n}`, author: "joe", text: `note ${n}` })]
      }
      if (n % 3 === 2) return [streamId, Events.ClientValueUpgraded.make({ value: 10 + n })]
      return [streamId, Events.ContactEmailChanged.make({ contactId: "alice", email: `alice${n}@test` })]
    })
  ).flat()

/** Appends the history one event per append, in its order, which is therefore its order in the log. */
const appendAll = (history: History) =>
  Effect.flatMap(
    EventStore.forDomain({ schema: Events.CrmEvent, registry: Registry.registry }),
    (store) =>
      Effect.forEach(
        history,
        ([streamId, event]) => store.append(StreamId.make(streamId), ExpectedVersion.any, [event]),
        { discard: true }
      )
  )

/** The recorded events of the streams under `prefix`, in log order. */
const logOf = (prefix: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readAll())).pipe(
    Effect.map((events) => Chunk.toArray(events).filter((event) => event.streamId.startsWith(prefix)))
  )

/** Waits until the read model's checkpoint is at `position` or past it. */
const checkpointAt = (position: Position.Position) =>
  Consumer.checkpoint(ReadModel.consumer.name).pipe(
    Effect.flatMap((checkpoint) =>
      Option.exists(checkpoint, ({ position: at }) => !Position.isAfter(position, at))
        ? Effect.void
        : Effect.fail("behind" as const)
    ),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => "the consumer did not catch up" })
  )

for (const target of targets) {
  describe.skipIf(target.skip)(target.suite, () => {
    layer(target.layer, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect.prop(
        "projected event by event, the table equals the fold of each client's events, whatever the events",
        [histories],
        ([history]) =>
          Effect.gen(function*() {
            const sql = yield* SqlClient.SqlClient
            yield* ReadModel.migrate
            yield* sql`DELETE FROM ${sql(ReadModel.table)}`
            yield* Effect.forEach(yield* recorded(history), ReadModel.project, { discard: true })
            expect(yield* ReadModel.list).toEqual(folded(history))
          }),
        { fastCheck: { numRuns: target.skip ? 1 : 60 } }
      )

      it.effect("the consumer keeps the table equal to the fold of each client's events, and of clients only", () =>
        Effect.gen(function*() {
          const prefix = `client-kept${Date.now().toString(36)}-`
          const history = knownHistory(prefix)
          const store = yield* EventStore.EventStore
          // Another category's streams are not the read model's, even with events of the CRM's types.
          const other = StreamId.make(`invoice-${prefix}`)
          yield* store.append(other, ExpectedVersion.any, [{ type: "ClientRegistered", data: { name: "x", value: 1 } }])
          // Half the events are in the log before the consumer starts, half come while it runs.
          yield* appendAll(history.slice(0, 75))
          const consumer = yield* Effect.fork(ReadModel.run)
          yield* appendAll(history.slice(75))
          yield* checkpointAt((yield* logOf(prefix)).at(-1)!.position)
          yield* Fiber.interrupt(consumer)
          expect(yield* rowsOf(prefix)).toEqual(folded(history))
          expect(yield* ReadModel.get(other)).toEqual(Option.none())
        }))

      it.effect(
        "exactly once: a crash inside a transaction leaves the table at the fold up to the checkpoint, and after the " +
          "restart each note counts once",
        () =>
          Effect.gen(function*() {
            const prefix = `client-crash${Date.now().toString(36)}-`
            const history = knownHistory(prefix)
            yield* ReadModel.migrate
            yield* appendAll(history)
            const log = yield* logOf(prefix)
            // The consumer dies right after projecting a meeting note late in the log, before its group commits:
            // its counter was raised in a transaction that never commits.
            const crashAt = log.findIndex((event, i) => i >= 120 && event.type === "MeetingNoteAdded")
            const crashed = yield* Effect.flip(Consumer.run({
              ...ReadModel.consumer,
              handle: (event) =>
                Effect.zipRight(
                  ReadModel.project(event),
                  event.id === log[crashAt]!.id ? Effect.dieMessage("crash") : Effect.void
                )
            }))
            expect(crashed).toMatchObject({ _tag: "HandlerFailed", eventId: log[crashAt]!.id, attempts: 1 })
            const checkpoint = Option.getOrThrow(yield* Consumer.checkpoint(ReadModel.consumer.name)).position
            const handled = log.filter((event) => !Position.isAfter(event.position, checkpoint)).length
            expect(handled).toBeLessThanOrEqual(crashAt)
            expect(yield* rowsOf(prefix)).toEqual(folded(history.slice(0, handled)))

            const restarted = yield* Effect.fork(ReadModel.run)
            yield* checkpointAt(log.at(-1)!.position)
            yield* Fiber.interrupt(restarted)
            expect(yield* rowsOf(prefix)).toEqual(folded(history))
          })
      )
    })
  })
}
