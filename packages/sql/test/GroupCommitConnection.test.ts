// The writer's connection of SQLite's group commit: appends started together share one COMMIT, a writer that cannot
// roll back does not keep the write lock unnoticed, and its commits do not wake this process's subscribers twice.
import type { Event } from "@concord/core"
import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import { Cause, Effect, Exit, Fiber, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { together } from "./support/groupCommit.js"
import * as InstrumentedStore from "./support/instrumentedStore.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-group-connection-"))

const note = (i: number): ReadonlyArray<Event.EventData> => [{ type: "Noted", data: { i } }]
const streamOf = (i: number) => StreamId.make(`stream-${i}`)

/** What an append was answered, in a word: "ok", or its error's tag with a StoreError's driver message. */
const outcome = (exit: Exit.Exit<EventStore.AppendResult, EventStore.AppendError>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return Cause.pretty(exit.cause)
  const error = failure.value
  return error._tag === "StoreError" ? `StoreError: ${(error.cause as Error | undefined)?.message}` : error._tag
}

/** Whether another connection can take the write lock at once. */
const lockIsFree = (filename: string) => {
  const other = new Sqlite(filename, { timeout: 0 })
  try {
    other.exec("BEGIN IMMEDIATE")
    other.exec("ROLLBACK")
    return true
  } catch {
    return false
  } finally {
    other.close()
  }
}

/** An event of this type breaks a deferred foreign key, which only COMMIT checks. */
const installBreaker = (filename: string) => {
  const db = new Sqlite(filename)
  db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TRIGGER fail_commit AFTER INSERT ON concord_events WHEN NEW.type = 'FailCommit'
    BEGIN INSERT INTO child VALUES (1); END`)
  db.close()
}

const breaker = [{ type: "FailCommit", data: {} }]

describe("SQLite group commit: the writer's connection", () => {
  it.live("appends started together commit in one transaction", () => {
    const counts = InstrumentedStore.instruments("no statement holds this")
    const filename = path.join(directory, "one-commit.db")
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      counts.commits = 0
      const results = yield* together(
        Array.from({ length: 50 }, (_, i) => store.append(streamOf(i), ExpectedVersion.noStream, note(i)))
      )
      expect(results.map((result) => result.lastVersion)).toEqual(Array.from({ length: 50 }, () => 1))
      expect(counts.commits).toBe(1)
    }).pipe(Effect.provide(InstrumentedStore.layer({ filename }, counts)))
  }, { timeout: 30_000 })

  it.live(
    "a ROLLBACK that fails once is run again at once: the writer leaves the transaction, the lock is free",
    () => {
      const counts = InstrumentedStore.instruments("no statement holds this")
      const filename = path.join(directory, "rollback-once.db")
      return Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        installBreaker(filename)
        counts.failingRollbacks = 1
        const broken = yield* Effect.exit(store.append(StreamId.make("breaker"), ExpectedVersion.any, breaker))
        expect(outcome(broken)).toBe("StoreError: FOREIGN KEY constraint failed")
        expect(lockIsFree(filename)).toBe(true)
        expect(outcome(yield* Effect.exit(store.append(streamOf(1), ExpectedVersion.noStream, note(1))))).toBe("ok")
      }).pipe(Effect.provide(InstrumentedStore.layer({ filename }, counts)))
    },
    { timeout: 30_000 }
  )

  it.live(
    "while the writer cannot roll back, every append fails with a StoreError saying why; once it can, appends commit",
    () => {
      const counts = InstrumentedStore.instruments("no statement holds this")
      const filename = path.join(directory, "rollback-stuck.db")
      return Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        installBreaker(filename)
        counts.failingRollbacks = Infinity
        const broken = yield* Effect.exit(store.append(StreamId.make("breaker"), ExpectedVersion.any, breaker))
        expect(outcome(broken)).toMatch(/^StoreError: /)
        const stuck = yield* together(
          [1, 2].map((i) => Effect.exit(store.append(streamOf(i), ExpectedVersion.noStream, note(i))))
        )
        expect(stuck.map(outcome)).toEqual(
          Array.from({ length: 2 }, () => "StoreError: ROLLBACK failed (instrumented)")
        )
        expect(lockIsFree(filename)).toBe(false)
        counts.failingRollbacks = 0
        expect(outcome(yield* Effect.exit(store.append(streamOf(3), ExpectedVersion.noStream, note(3))))).toBe("ok")
        expect(lockIsFree(filename)).toBe(true)
        expect(yield* store.version(streamOf(1))).toBe(0)
      }).pipe(Effect.provide(InstrumentedStore.layer({ filename }, counts)))
    },
    { timeout: 30_000 }
  )

  it.live(
    "a subscriber at the end of the log is woken once per group, not again when its watcher sees the commit",
    () => {
      // The plain page of the log, which a subscriber reads when woken.
      const counts = InstrumentedStore.instruments("WHERE position >")
      const filename = path.join(directory, "wake-once.db")
      return Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const delivered: Array<Event.RecordedEvent> = []
        const subscriber = yield* Effect.forkDaemon(
          Stream.runForEach(store.subscribe(), (event) => Effect.sync(() => delivered.push(event)))
        )
        yield* Effect.sleep("5 millis").pipe(Effect.repeat({ until: () => counts.marked > 0 }))
        yield* Effect.sleep("100 millis")
        counts.marked = 0
        const appends = 10
        for (let i = 1; i <= appends; i++) {
          yield* store.append(streamOf(i), ExpectedVersion.noStream, note(i))
          yield* Effect.sleep("2 millis").pipe(Effect.repeat({ until: () => delivered.length === i }))
          // Some five checks of the watcher.
          yield* Effect.sleep("50 millis")
        }
        yield* Fiber.interrupt(subscriber)
        expect(delivered.map((event) => event.streamId)).toEqual(
          Array.from({ length: appends }, (_, i) => `stream-${i + 1}`)
        )
        // Woken by the group, a subscriber reads the event, then reads again and finds the end: two reads an append. A
        // wake by the watcher too, when it sees the writer's commit in the file, would make it three.
        expect(counts.marked).toBeGreaterThanOrEqual(2 * appends)
        expect(counts.marked).toBeLessThanOrEqual(2 * appends + 2)
      }).pipe(Effect.provide(InstrumentedStore.layer({ filename, pollIntervalMillis: 10 }, counts)))
    },
    { timeout: 30_000 }
  )
})
