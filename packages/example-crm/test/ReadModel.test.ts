// The read model's table against the pure fold of each client's events (ClientSummary), on SQLite and PostgreSQL:
// projected event by event, kept by the consumer, and after a crash in the middle of a transaction.
import { Consumer, EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import { Database, ReadModel } from "@concord/example-crm"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, layer } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import {
  appendAll,
  checkpointAt,
  folded,
  histories,
  knownHistory,
  logOf,
  recorded,
  rowsOf
} from "./support/histories.js"
import { postgresSuites } from "./support/suites.js"

const pgUrl = inject("pgUrl")

const targets = [
  { suite: "the read model on SQLite", layer: Database.layerSqlite(":memory:"), skip: false },
  { suite: postgresSuites.readModel, layer: Database.layerPostgres(pgUrl ?? ""), skip: pgUrl === undefined }
]

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
            // Some groups committed before the crash: the comparison below is of a table with rows in it.
            expect(handled).toBeGreaterThan(0)
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
