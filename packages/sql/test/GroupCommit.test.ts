import { Checkpoints, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Client, Events, Registry } from "@concord/example-crm"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Checker } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import { Chunk, Deferred, Effect, FastCheck, Fiber, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as GroupCommit from "./support/groupCommit.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-group-commit-"))
const seed = FastCheck.readConfigureGlobal().seed ?? 0

const decode = Event.decode(Events.CrmEvent)
const fold: Checker.Fold<Client.Client> = {
  initialState: Client.initial,
  evolve: (state, event) => Client.evolve(state, Effect.runSync(decode(event)))
}

/** Runs statements on the file through a connection of the test's own (triggers the store's writer then meets). */
const onFile = (filename: string, statements: string) => {
  const db = new Sqlite(filename)
  try {
    db.exec(statements)
  } finally {
    db.close()
  }
}

const registerAll = (streams: ReadonlyArray<string>) =>
  Effect.flatMap(EventStore.EventStore, (store) =>
    Effect.forEach(streams, (streamId) => {
      const planned: GroupCommit.Planned = {
        kind: "note",
        streamId,
        expected: 0,
        events: [{
          id: Event.EventId.make(`${streamId}-registered`),
          type: "ClientRegistered",
          data: { name: streamId, value: 1 }
        }]
      }
      return GroupCommit.answer(
        () => store.append(StreamId.make(streamId), ExpectedVersion.noStream, planned.events),
        planned
      )
    }))

const appendPlanned = (planned: GroupCommit.Planned) =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) => store.append(StreamId.make(planned.streamId), GroupCommit.expectedOf(planned), planned.events)
  )

const logsOf = (streams: ReadonlyArray<string>) => Checker.readLogs(streams)

describe("SQLite group commit in one process", () => {
  const filename = path.join(directory, "fire.db")
  const streams = ["client-a", "client-b", "client-c", "client-d"]

  it.live(
    `appends of every kind in the same groups are each answered as their own; nothing lost, duplicated, falsely accepted or wrongly failed (seed ${seed})`,
    () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        onFile(
          filename,
          `CREATE TRIGGER poison BEFORE INSERT ON concord_events WHEN NEW.type = '${GroupCommit.poisonType}'
        BEGIN SELECT RAISE(ABORT, 'poisoned'); END`
        )
        const answered: Array<GroupCommit.Answered> = [...yield* registerAll(streams)]
        const next = GroupCommit.random(seed)
        for (let round = 0; round < 25; round++) {
          const versions = new Map<string, number>()
          for (const streamId of streams) versions.set(streamId, yield* store.version(StreamId.make(streamId)))
          const stored = answered.filter((a) => a.answer._tag === "Acknowledged" && a.planned.kind === "note")
          const elsewhere = stored[next(stored.length)]!
          const planned = GroupCommit.planRound({
            name: "fire",
            round,
            size: 60,
            streams,
            versions,
            storedElsewhere: { streamId: elsewhere.planned.streamId, id: elsewhere.planned.events[0]!.id },
            poison: true,
            next
          })
          answered.push(...yield* GroupCommit.together(planned.map((p) => GroupCommit.answer(appendPlanned, p))))
        }
        const logs = yield* logsOf(streams)
        expect(Checker.check({ logs, attempts: GroupCommit.checkerAttempts(answered), fold })).toEqual([])
        expect(GroupCommit.audit(answered, logs)).toEqual([])
        // Every kind was tried, and both sides of a stale append were seen.
        const kinds = new Set(answered.map((a) => a.planned.kind))
        expect([...kinds].sort()).toEqual(
          ["contested", "duplicate", "email", "future", "invalid", "note", "poison", "twin", "value"]
        )
        const tags = answered.map((a) => a.answer._tag === "Acknowledged" ? "Acknowledged" : a.answer.error._tag)
        expect(tags).toContain("ConcurrencyConflict")
        expect(answered.some((a) => a.answer._tag === "Acknowledged" && a.answer.result.rebasedOver > 0)).toBe(true)
      }).pipe(Effect.provide(SqliteEventStore.layer({ filename, registry: Registry.registry }))),
    { timeout: 120_000 }
  )
})

describe("SQLite group commit: one transaction per group", () => {
  it.live(
    "an append interrupted while queued leaves the queue, one still queued at its deadline fails with mayHaveCommitted false; neither is stored",
    () => {
      const filename = path.join(directory, "queued.db")
      return Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const checkpoints = yield* Checkpoints.Checkpoints
        const stream = StreamId.make("queued")
        /** Holds the store's connection for `millis` in a transaction of the caller's; the effect that waits for its end. */
        const hold = (millis: number) =>
          Effect.gen(function*() {
            const holding = yield* Deferred.make<void>()
            const holder = yield* Effect.fork(
              checkpoints.transactional(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.sleep(millis)))
            )
            yield* Deferred.await(holding)
            return Fiber.join(holder)
          })
        // Interrupted long before its deadline: were it left in the queue, the group of the next append would commit it.
        const shortHold = yield* hold(300)
        const interrupted = yield* Effect.fork(
          store.append(stream, ExpectedVersion.any, [{ type: "Interrupted", data: {} }])
        )
        yield* Effect.sleep("50 millis")
        yield* Fiber.interrupt(interrupted)
        yield* shortHold
        yield* store.append(stream, ExpectedVersion.any, [{ type: "Marker", data: {} }])
        expect(Chunk.toArray(yield* Stream.runCollect(store.read(stream))).map((event) => event.type)).toEqual([
          "Marker"
        ])
        // Queued past its deadline.
        const longHold = yield* hold(2_500)
        const late = yield* Effect.either(store.append(stream, ExpectedVersion.any, [{ type: "Late", data: {} }]))
        expect(late).toMatchObject({ left: { _tag: "AppendTimeout", streamId: stream, mayHaveCommitted: false } })
        yield* longHold
        expect(yield* store.append(stream, ExpectedVersion.any, [{ type: "Next", data: {} }])).toMatchObject({
          firstVersion: 2,
          lastVersion: 2
        })
        const log = Chunk.toArray(yield* Stream.runCollect(store.read(stream)))
        expect(log.map((event) => event.type)).toEqual(["Marker", "Next"])
      }).pipe(Effect.provide(SqliteEventStore.layer({ filename, appendTimeoutMillis: 2_000 })))
    },
    { timeout: 30_000 }
  )

  it.live(
    "an append inside a transaction of the caller's runs in that transaction: undone with it, kept with it",
    () => {
      const filename = path.join(directory, "caller.db")
      return Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const checkpoints = yield* Checkpoints.Checkpoints
        const stream = StreamId.make("caller")
        const undone = yield* Effect.either(checkpoints.transactional(
          Effect.zipRight(
            store.append(stream, ExpectedVersion.noStream, [{ type: "Undone", data: {} }]),
            Effect.fail("no")
          )
        ))
        expect(undone).toMatchObject({ left: "no" })
        expect(yield* store.version(stream)).toBe(0)
        yield* checkpoints.transactional(store.append(stream, ExpectedVersion.noStream, [{ type: "Kept", data: {} }]))
        const log = Chunk.toArray(yield* Stream.runCollect(store.read(stream)))
        expect(log.map((event) => event.type)).toEqual(["Kept"])
      }).pipe(Effect.provide(SqliteEventStore.layer({ filename })))
    },
    { timeout: 30_000 }
  )
})
