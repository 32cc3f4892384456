// The read side across OS processes: writer processes append while a subscriber in another process follows the
// global log; the subscriber's record is audited against the final log (every event exactly once, positions strictly
// increasing, each stream in version order, nothing skipped, complete).
import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Checker } from "@concord/testing"
import { describe, expect, inject, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { readDelivered, startSubscriber } from "./support/followers.js"
import { startWriter } from "./support/processes.js"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-read-processes-"))
const sqliteFile = path.join(directory, "shared.db")
const pgUrl = inject("pgUrl")

interface Target {
  readonly suite: string
  readonly skip: boolean
  readonly backend: "sqlite" | "pg"
  readonly target: string
  readonly layer: (tablePrefix: string) => Layer.Layer<EventStore.EventStore, EventStore.StoreError>
}

const targets: ReadonlyArray<Target> = [
  {
    suite: "the read side in many OS processes on one SQLite file",
    skip: false,
    backend: "sqlite",
    target: sqliteFile,
    layer: (tablePrefix) => SqliteEventStore.layer({ filename: sqliteFile, tablePrefix })
  },
  {
    suite: postgresSuites.readProcesses,
    skip: pgUrl === undefined,
    backend: "pg",
    target: pgUrl ?? "",
    layer: (tablePrefix) => PgEventStore.layer({ url: pgUrl ?? "", tablePrefix })
  }
]

const until = (done: () => boolean, what: () => string, seconds: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + seconds * 1_000
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what()} (waited ${seconds} s)`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }).pipe(Effect.orDie)

for (const target of targets) {
  describe.skipIf(target.skip)(target.suite, () => {
    const prefix = `follow_${target.backend}_${Date.now().toString(36)}_`
    it.effect(
      "4 writer processes and a subscriber in another: every event once, in order, none skipped, all of them",
      () =>
        Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const streams = ["client-a", "client-b", "client-c", "client-d", "client-e"].map((s) => `${s}-${prefix}`)
          // The writers append at stale expected versions from 1: each stream starts registered.
          for (const id of streams) {
            yield* store.append(StreamId.make(id), ExpectedVersion.noStream, [{
              id: Event.EventId.make(`${id}-registered`),
              type: "ClientRegistered",
              data: { name: id, value: 100 }
            }])
          }
          const out = path.join(directory, `${prefix}subscriber.jsonl`)
          const subscriber = startSubscriber({
            backend: target.backend,
            target: target.target,
            tablePrefix: prefix,
            out
          })
          yield* Effect.promise(() => subscriber.ready)
          const writers = Array.from({ length: 4 }, (_, i) =>
            startWriter({
              name: `w${i}`,
              backend: target.backend,
              target: target.target,
              tablePrefix: prefix,
              streams,
              appends: 300,
              batch: [1, 3],
              out: path.join(directory, `${prefix}w${i}.jsonl`)
            }))
          // Sampled when the first writer is done, the others still writing: the subscriber follows them live.
          const deliveredWhileWriting = yield* Effect.promise(() =>
            Promise.race(writers.map((w) => w.finished)).then(() => readDelivered(out).length)
          )
          const codes = yield* Effect.promise(() => Promise.all(writers.map((w) => w.finished)))
          expect(codes).toEqual([0, 0, 0, 0])

          const log = yield* Checker.readGlobalLog()
          const logs = yield* Checker.readLogs(streams)
          Checker.assertLog({ log, streams: logs })
          expect(log.length).toBeGreaterThan(streams.length + 4 * 100)
          yield* until(
            () => readDelivered(out).length >= log.length,
            () => `the subscriber delivered ${readDelivered(out).length} of the log's ${log.length} events`,
            60
          )
          subscriber.kill("SIGTERM")
          yield* Effect.promise(() => subscriber.exited)
          const delivered = readDelivered(out)
          Checker.assertSubscription({ delivered, log }, "the subscriber process")
          expect(delivered.length).toBe(log.length)
          expect(deliveredWhileWriting).toBeGreaterThan(streams.length)
          console.log(
            `${target.backend}: the subscriber process followed ${log.length} events from 4 writer processes, ` +
              `${deliveredWhileWriting} of them before the first writer was done`
          )
        }).pipe(Effect.provide(target.layer(prefix))),
      { timeout: 300_000 }
    )
  })
}
