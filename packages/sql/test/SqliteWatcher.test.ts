// SQLite subscribers hear other connections' commits by checking the file's data_version: one check for all of a
// store's waiting subscribers, not one per subscriber (a thousand idle subscribers would otherwise run ten thousand
// statements a second), and none once no one waits.
import type { Event } from "@concord/core"
import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-sqlite-watcher-"))

/** The store's client, counting the `PRAGMA data_version` statements it runs. */
const countingChecks = (counter: { checks: number }) =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.map(SqlClient.SqlClient, (sql) =>
      new Proxy(sql, {
        apply: (target, self, args: Array<unknown>) => {
          const strings = args[0]
          const statement = Reflect.apply(target, self, args)
          // The statement is made once and run at every check: count the runs.
          return Array.isArray(strings) && strings.join("").includes("data_version")
            ? Effect.tap(statement, () => Effect.sync(() => counter.checks++))
            : statement
        }
      }))
  )

describe("SQLite subscribers waiting for other connections' commits", () => {
  it.live("share one data_version check per interval, wake together, and stop checking once none waits", () =>
    Effect.gen(function*() {
      const filename = path.join(directory, `watcher-${Date.now().toString(36)}.db`)
      const counter = { checks: 0 }
      const reader = yield* Layer.build(
        SqlEventStore.layer({ pollIntervalMillis: 20 }).pipe(
          Layer.provide(countingChecks(counter)),
          Layer.provide(SqliteEventStore.layerClient({ filename }))
        )
      )
      const writer = yield* Layer.build(SqliteEventStore.layer({ filename }))
      const readerStore = Context.get(reader, EventStore.EventStore)
      const writerStore = Context.get(writer, EventStore.EventStore)
      const subscribers = 100
      const delivered: Array<Array<Event.RecordedEvent>> = Array.from({ length: subscribers }, () => [])
      const fibers = yield* Effect.forEach(delivered, (events) =>
        Effect.forkDaemon(
          Stream.runForEach(readerStore.subscribe(), (event) => Effect.sync(() => events.push(event)))
        ))
      // Every subscriber has read the empty log and waits.
      yield* Effect.sleep("300 millis")
      counter.checks = 0
      yield* Effect.sleep("500 millis")
      // One watcher checks about 25 times in 500 ms at 20 ms; a check per subscriber would be some 2,500.
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
    }).pipe(Effect.scoped))
})
