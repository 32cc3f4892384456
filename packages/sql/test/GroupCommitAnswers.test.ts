// Each append of a commit group gets its own answer, whatever another append of the group does to the transaction:
// break a deferred constraint that only COMMIT checks, roll the whole transaction back from a trigger, carry a rule
// that throws. An invalid append is refused before it is queued, whatever holds the write lock.
import { ConflictRegistry, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import type { Event } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import { Cause, Chunk, Effect, Exit, Layer, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { together } from "./support/groupCommit.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-group-answers-"))

/** Runs statements on the file through a connection of the test's own. */
const onFile = (filename: string, statements: string) => {
  const db = new Sqlite(filename)
  try {
    db.exec(statements)
  } finally {
    db.close()
  }
}

/** What an append was answered, in a word: "ok", its error's tag (with a StoreError's driver message), or "defect". */
const outcome = (exit: Exit.Exit<EventStore.AppendResult, EventStore.AppendError>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return Cause.isDie(exit.cause) ? "defect" : Cause.pretty(exit.cause)
  const error = failure.value
  return error._tag === "StoreError" ? `StoreError: ${(error.cause as Error | undefined)?.message}` : error._tag
}

const note = (i: number): ReadonlyArray<Event.EventData> => [{ type: "Noted", data: { i } }]
const streamOf = (i: number) => StreamId.make(`stream-${i}`)

/** The triggers: `FailCommit` breaks a deferred foreign key (only COMMIT checks it), `RollbackAll` rolls back all. */
const installBreakers = (filename: string) =>
  onFile(
    filename,
    `CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TRIGGER fail_commit AFTER INSERT ON concord_events WHEN NEW.type = 'FailCommit'
    BEGIN INSERT INTO child VALUES (1); END;
    CREATE TRIGGER rollback_all BEFORE INSERT ON concord_events WHEN NEW.type = 'RollbackAll'
    BEGIN SELECT RAISE(ROLLBACK, 'rolled back by trigger'); END`
  )

describe("SQLite group commit: each append of a group its own answer", () => {
  it.live("a COMMIT one append breaks fails that append alone; the others are stored and answered as their own", () => {
    const filename = path.join(directory, "failed-commit.db")
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      installBreakers(filename)
      const answers = yield* together([
        ...Array.from(
          { length: 20 },
          (_, i) => Effect.exit(store.append(streamOf(i), ExpectedVersion.noStream, note(i)))
        ),
        Effect.exit(store.append(StreamId.make("breaker"), ExpectedVersion.any, [{ type: "FailCommit", data: {} }])),
        Effect.exit(store.append(StreamId.make("ahead"), ExpectedVersion.exact(5), note(0))),
        ...Array.from(
          { length: 20 },
          (_, i) => Effect.exit(store.append(streamOf(20 + i), ExpectedVersion.noStream, note(20 + i)))
        )
      ])
      expect(answers.map(outcome)).toEqual([
        ...Array.from({ length: 20 }, () => "ok"),
        "StoreError: FOREIGN KEY constraint failed",
        "WrongExpectedVersion",
        ...Array.from({ length: 20 }, () => "ok")
      ])
      const log = Chunk.toArray(yield* Stream.runCollect(store.readAll()))
      expect(log.map((event) => event.streamId).sort()).toEqual(
        Array.from({ length: 40 }, (_, i) => `stream-${i}`).sort()
      )
      expect(log.every((event) => event.version === 1)).toBe(true)
    }).pipe(Effect.provide(SqliteEventStore.layer({ filename })))
  }, { timeout: 60_000 })

  it.live("a trigger that rolls the whole transaction back fails its own append with its own message, no other", () => {
    const filename = path.join(directory, "rollback-all.db")
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      installBreakers(filename)
      const answers = yield* together([
        Effect.exit(store.append(streamOf(1), ExpectedVersion.noStream, note(1))),
        Effect.exit(store.append(StreamId.make("rolled"), ExpectedVersion.any, [{ type: "RollbackAll", data: {} }])),
        Effect.exit(store.append(streamOf(2), ExpectedVersion.noStream, note(2)))
      ])
      expect(answers.map(outcome)).toEqual(["ok", "StoreError: rolled back by trigger", "ok"])
      const log = Chunk.toArray(yield* Stream.runCollect(store.readAll()))
      expect(log.map((event) => event.streamId)).toEqual(["stream-1", "stream-2"])
      // The writer is out of any transaction: the next append commits.
      expect(outcome(yield* Effect.exit(store.append(streamOf(3), ExpectedVersion.noStream, note(3))))).toBe("ok")
    }).pipe(Effect.provide(SqliteEventStore.layer({ filename })))
  }, { timeout: 60_000 })

  it.live("a conflict rule that throws is a defect of its own append, as on the other paths; the group goes on", () => {
    const filename = path.join(directory, "throwing-rule.db")
    const registry = ConflictRegistry.untyped().pipe(
      ConflictRegistry.conflictsWhen("Risky", "Risky", () => {
        throw new Error("the rule broke")
      })
    )
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const risky = StreamId.make("risky")
      yield* store.append(risky, ExpectedVersion.noStream, [{ type: "Risky", data: {} }])
      yield* store.append(risky, ExpectedVersion.exact(1), [{ type: "Risky", data: {} }])
      const answers = yield* together([
        Effect.exit(store.append(streamOf(1), ExpectedVersion.noStream, note(1))),
        // Stale: the rule is asked about the event committed since.
        Effect.exit(store.append(risky, ExpectedVersion.exact(1), [{ type: "Risky", data: {} }])),
        Effect.exit(store.append(streamOf(2), ExpectedVersion.noStream, note(2)))
      ])
      expect(answers.map(outcome)).toEqual(["ok", "defect", "ok"])
      expect(yield* store.version(risky)).toBe(2)
    }).pipe(Effect.provide(SqliteEventStore.layer({ filename, registry })))
  }, { timeout: 60_000 })
})

describe("SQLite group commit: appends refused before they are queued", () => {
  it.live("an invalid append is refused as invalid while another process holds the write lock", () => {
    const filename = path.join(directory, "invalid-locked.db")
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const other = new Sqlite(filename)
      other.exec("BEGIN IMMEDIATE")
      try {
        const answers = yield* Effect.all([
          Effect.exit(store.append(streamOf(1), ExpectedVersion.noStream, [{ type: "T", data: { v: Number.NaN } }])),
          Effect.exit(store.append("" as StreamId.StreamId, ExpectedVersion.noStream, note(1))),
          Effect.exit(
            store.append(streamOf(1), { _tag: "Exact", version: 1.5 } as ExpectedVersion.ExpectedVersion, note(1))
          ),
          Effect.exit(store.append(streamOf(1), ExpectedVersion.any, [{ type: "", data: {} }]))
        ])
        expect(answers.map(outcome)).toEqual([
          "InvalidEventData",
          "InvalidArgument",
          "InvalidArgument",
          "InvalidEventData"
        ])
      } finally {
        other.exec("ROLLBACK")
        other.close()
      }
    }).pipe(Effect.provide(SqliteEventStore.layer({ filename, busyTimeoutMillis: 200 })))
  }, { timeout: 30_000 })
})

describe("SQLite group commit: errors as the other path words them", () => {
  it.live("DuplicateEventId names the stored ids in the same order as the SqlClient path's", () => {
    const filename = path.join(directory, "duplicate-order.db")
    // Ids whose order differs between UTF-16 code units (JavaScript) and UTF-8 bytes (SQLite's BINARY collation).
    const ids = ["m", "\uFF01x", "\u{1F600}x", "b", "z"].map((id) => id as Event.EventId)
    const batch = (order: ReadonlyArray<number>): ReadonlyArray<Event.EventData> =>
      order.map((i) => ({ id: ids[i]!, type: "Noted", data: {} }))
    const duplicateIds = (store: EventStore.Service) =>
      Effect.flip(store.append(StreamId.make("second"), ExpectedVersion.any, [
        { type: "Noted", data: {} },
        ...batch([4, 2, 0, 1, 3])
      ])).pipe(Effect.map((error) => error._tag === "DuplicateEventId" ? error.eventIds : error))
    return Effect.gen(function*() {
      const grouped = yield* EventStore.EventStore
      yield* grouped.append(StreamId.make("first"), ExpectedVersion.noStream, batch([0, 1, 2, 3, 4]))
      const viaWriter = yield* duplicateIds(grouped)
      const viaClient = yield* Effect.flatMap(EventStore.EventStore, duplicateIds).pipe(
        Effect.provide(SqlEventStore.layer().pipe(Layer.provide(SqliteEventStore.layerClient({ filename }))))
      )
      expect(viaClient).toHaveLength(5)
      expect(viaWriter).toEqual(viaClient)
    }).pipe(Effect.provide(SqliteEventStore.layer({ filename })))
  }, { timeout: 30_000 })
})
