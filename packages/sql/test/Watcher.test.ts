// Subscribers hear other connections' commits through one watcher per store: on SQLite it checks the file's
// data_version, on PostgreSQL the end of the visible log (beyond what notifications announce). One check for all of a
// store's waiting subscribers, not a read per subscriber (a thousand idle subscribers would otherwise run thousands of
// statements a second), and none once no one waits.
import type { Event } from "@concord/core"
import { EventStore, ExpectedVersion, StoreBackend, StreamId } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Redacted, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as WatchedSignal from "../src/internal/watchedSignal.js"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-sqlite-watcher-"))

const pgUrl = inject("pgUrl")

/** The store's client, counting the statements it runs that read the log or check for a change. */
const countingChecks = (counter: { checks: number }, marker: string) =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.map(SqlClient.SqlClient, (sql) =>
      new Proxy(sql, {
        apply: (target, self, args: Array<unknown>) => {
          const strings = args[0]
          const statement = Reflect.apply(target, self, args)
          // The statement is made once and run at every check: count the runs.
          return Array.isArray(strings) && strings.join("").includes(marker)
            ? Effect.tap(statement, () => Effect.sync(() => counter.checks++))
            : statement
        }
      }))
  )

/**
 * The check: `subscribers` wait on a store whose client counts statements holding `marker` (every read of the log and
 * every check); another store on the same database appends.
 */
const sharedWatcher = (
  client: Layer.Layer<SqlClient.SqlClient, unknown>,
  marker: string,
  tablePrefix: string | undefined
) =>
  Effect.gen(function*() {
    const counter = { checks: 0 }
    // The generic SQL store: on PostgreSQL it does not listen, so the watcher is all that hears the writer.
    const reader = yield* Layer.build(
      SqlEventStore.layer({ pollIntervalMillis: 20, ...(tablePrefix === undefined ? {} : { tablePrefix }) }).pipe(
        Layer.provide(countingChecks(counter, marker)),
        Layer.provide(client)
      )
    )
    const writer = yield* Layer.build(
      SqlEventStore.layer(tablePrefix === undefined ? {} : { tablePrefix }).pipe(Layer.provide(client))
    )
    const readerStore = Context.get(reader, EventStore.EventStore)
    const writerStore = Context.get(writer, EventStore.EventStore)
    const subscribers = 100
    const delivered: Array<Array<Event.RecordedEvent>> = Array.from({ length: subscribers }, () => [])
    const fibers = yield* Effect.forEach(delivered, (events) =>
      Effect.forkDaemon(
        Stream.runForEach(readerStore.subscribe(), (event) => Effect.sync(() => events.push(event)))
      ))
    // Every subscriber has read the empty log and waits: each has run a statement, and 100 ms pass with no more
    // statements than a watcher's.
    yield* Effect.suspend(() => {
      const before = counter.checks
      return Effect.map(Effect.sleep("100 millis"), () => counter.checks - before)
    }).pipe(
      Effect.repeat({ until: (statements) => statements <= 10 && counter.checks >= subscribers }),
      Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the subscribers never settled") })
    )
    counter.checks = 0
    yield* Effect.sleep("500 millis")
    // One watcher checks about 25 times in 500 ms at 20 ms; a read per subscriber would be some 2,500.
    expect(counter.checks).toBeGreaterThan(0)
    expect(counter.checks).toBeLessThan(100)
    yield* writerStore.append(StreamId.make("client-1"), ExpectedVersion.noStream, [{ type: "Noted", data: {} }])
    yield* Effect.sleep("5 millis").pipe(
      Effect.repeat({ until: () => delivered.every((events) => events.length === 1) }),
      Effect.timeoutFail({
        duration: "10 seconds",
        onTimeout: () =>
          new Error(`${delivered.filter((events) => events.length === 1).length} of ${subscribers} heard the commit`)
      })
    )
    expect(delivered.every((events) => events[0]!.streamId === "client-1")).toBe(true)
    yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
    // The watcher stops at its next check once no one waits.
    yield* Effect.sleep("100 millis")
    counter.checks = 0
    yield* Effect.sleep("300 millis")
    expect(counter.checks).toBe(0)
  }).pipe(Effect.scoped)

describe("subscribers waiting for other connections' commits", () => {
  it.live("on SQLite share one data_version check per interval, wake together, and stop checking once none waits", () =>
    sharedWatcher(
      SqliteEventStore.layerClient({ filename: path.join(directory, `watcher-${Date.now().toString(36)}.db`) }),
      "data_version",
      undefined
    ))
})

describe.skipIf(pgUrl === undefined)(postgresSuites.watcher, () => {
  it.live(
    "share one check of the log's end per interval, wake together, and stop checking once none waits",
    () =>
      sharedWatcher(
        PgClient.layer({ url: Redacted.make(pgUrl ?? "") }),
        "pg_snapshot_xmin",
        `watcher_${Date.now().toString(36)}_`
      ),
    30_000
  )
})

describe("the watcher's baselines", () => {
  /** A signal over a probe whose answer the test sets: another process's commits, as the probe would see them. */
  const watched = () => {
    const state = { version: 0, probes: 0 }
    const signal = WatchedSignal.make(
      StoreBackend.makeCommitSignal(),
      Duration.millis(10),
      Effect.sync(() => {
        state.probes++
        return String(state.version)
      })
    )
    return { state, signal }
  }

  it.live("a waiter whose baseline is older than the running watcher's is woken at once", () =>
    Effect.gen(function*() {
      const { signal, state } = watched()
      // A marks (and reads) before another process commits; B marks after it and starts the watcher first.
      const waitA = yield* signal.mark
      state.version = 1
      const waitB = yield* signal.mark
      const b = yield* Effect.fork(waitB)
      yield* Effect.sleep("50 millis")
      // A's read could not have seen version 1, and nothing changes after: only its baseline can wake it.
      yield* waitA.pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "A was never woken" }))
      yield* Fiber.interrupt(b)
    }))

  it.live("marks made while no watcher runs share one probe; the watcher wakes waiters at a change", () =>
    Effect.gen(function*() {
      const { signal, state } = watched()
      const waits = yield* Effect.all(Array.from({ length: 50 }, () => signal.mark), { concurrency: "unbounded" })
      expect(state.probes).toBe(1)
      const fibers = yield* Effect.forEach(waits, (wait) => Effect.fork(wait))
      yield* Effect.sleep("50 millis")
      state.version = 2
      yield* Effect.forEach(fibers, Fiber.join).pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "not every waiter was woken" })
      )
    }))

  it.live("a probe that fails wakes waiters at each check, as a poll would, not in a loop", () =>
    Effect.gen(function*() {
      const signal = WatchedSignal.make(
        StoreBackend.makeCommitSignal(),
        Duration.millis(20),
        Effect.fail("unreachable")
      )
      let wakes = 0
      // A subscriber's loop: mark, (read,) wait, woken.
      const subscriber = yield* Effect.fork(Effect.forever(
        Effect.flatMap(signal.mark, (wait) => Effect.zipRight(wait, Effect.sync(() => wakes++)))
      ))
      yield* Effect.sleep("300 millis")
      yield* Fiber.interrupt(subscriber)
      // About fifteen checks in 300 ms at 20 ms, each a wake; not a wake per mark.
      expect(wakes).toBeGreaterThan(0)
      expect(wakes).toBeLessThan(40)
    }))
})
