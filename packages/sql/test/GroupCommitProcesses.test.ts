import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Client, Events, Registry } from "@concord/example-crm"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Checker } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import { Effect, FastCheck } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as GroupCommit from "./support/groupCommit.js"
import { linesIn, readGroupLines, startGroupWriter } from "./support/groupProcesses.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-group-processes-"))
const seed = FastCheck.readConfigureGlobal().seed ?? 0

const decode = Event.decode(Events.CrmEvent)
const fold: Checker.Fold<Client.Client> = {
  initialState: Client.initial,
  evolve: (state, event) => Client.evolve(state, Effect.runSync(decode(event)))
}

const storeOn = (filename: string) => SqliteEventStore.layer({ filename, registry: Registry.registry })

/** Creates the file's tables, registers the streams and installs the trigger that refuses the poison appends. */
const prepare = (filename: string, streams: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const registered = yield* Effect.forEach(streams, (streamId) => {
      const planned: GroupCommit.Planned = {
        kind: "note",
        streamId,
        expected: 0,
        events: [{
          id: Event.EventId.make(`${streamId}-registered`),
          type: "ClientRegistered",
          data: { name: "c", value: 1 }
        }]
      }
      return GroupCommit.answer(
        () => store.append(StreamId.make(streamId), ExpectedVersion.noStream, planned.events),
        planned
      )
    })
    const db = new Sqlite(filename)
    db.exec(`CREATE TRIGGER IF NOT EXISTS poison BEFORE INSERT ON concord_events
      WHEN NEW.type = '${GroupCommit.poisonType}' BEGIN SELECT RAISE(ABORT, 'poisoned'); END`)
    db.close()
    return registered
  }).pipe(Effect.provide(storeOn(filename)))

/** The streams' logs as a store opened afresh on the file reads them (after a kill: after recovery). */
const logsAfterRestart = (filename: string, streams: ReadonlyArray<string>) =>
  Checker.readLogs(streams).pipe(Effect.provide(storeOn(filename)))

describe("SQLite group commit in many OS processes", () => {
  it.live(
    `4 processes firing appends of every kind into commit groups on one file: each answered as its own; nothing lost, duplicated, falsely accepted or wrongly failed (seed ${seed})`,
    () =>
      Effect.gen(function*() {
        const filename = path.join(directory, "fire.db")
        const streams = ["client-a", "client-b", "client-c", "client-d"]
        const registered = yield* prepare(filename, streams)
        const writers = Array.from({ length: 4 }, (_, i) =>
          startGroupWriter({
            name: `w${i}`,
            filename,
            streams,
            rounds: 15,
            size: 50,
            seed: seed + i,
            poison: true,
            out: path.join(directory, `fire-w${i}.jsonl`)
          }))
        expect(yield* Effect.promise(() => Promise.all(writers.map((w) => w.finished)))).toEqual([0, 0, 0, 0])
        const recorded = writers.map((_, i) => readGroupLines(path.join(directory, `fire-w${i}.jsonl`)))
        const answered = [...registered, ...recorded.flatMap((r) => r.answered)]
        expect(recorded.flatMap((r) => r.unanswered)).toEqual([])
        const logs = yield* logsAfterRestart(filename, streams)
        expect(Checker.check({ logs, attempts: GroupCommit.checkerAttempts(answered), fold })).toEqual([])
        expect(GroupCommit.audit(answered, logs)).toEqual([])
        const tags = new Set(
          answered.map((a) => a.answer._tag === "Acknowledged" ? "Acknowledged" : a.answer.error._tag)
        )
        expect([...tags].sort()).toEqual([
          "Acknowledged",
          "ConcurrencyConflict",
          "DuplicateEventId",
          "InvalidEventData",
          "StoreError",
          "WrongExpectedVersion"
        ])
        expect(answered.some((a) => a.answer._tag === "Acknowledged" && a.answer.result.rebasedOver > 0)).toBe(true)
      }),
    { timeout: 300_000 }
  )

  it.live(
    "writers killed with SIGKILL in the middle of their groups: no partial append, and every acknowledged append is there after restart",
    () =>
      Effect.gen(function*() {
        const filename = path.join(directory, "killed.db")
        const streams = ["client-k1", "client-k2", "client-k3"]
        const answered: Array<GroupCommit.Answered> = [...yield* prepare(filename, streams)]
        const unanswered: Array<Checker.Attempt> = []
        // Three writers in turn, each killed once it has answered a few groups' worth, at a moment of no choosing:
        // appends in flight, some of them in the group being committed.
        for (let i = 0; i < 3; i++) {
          const out = path.join(directory, `killed-${i}.jsonl`)
          const writer = startGroupWriter({
            name: `doomed${i}`,
            filename,
            streams,
            rounds: 100_000,
            size: 40,
            seed: seed + i,
            poison: true,
            out
          })
          const after = 300 + Math.floor(Math.random() * 400)
          while (linesIn(out) < after || readGroupLines(out).unanswered.length === 0) yield* Effect.sleep("2 millis")
          writer.kill("SIGKILL")
          expect(yield* Effect.promise(() => writer.finished)).toBe(null)
          const recorded = readGroupLines(out)
          answered.push(...recorded.answered)
          unanswered.push(...recorded.unanswered)
        }
        expect(unanswered.length).toBeGreaterThan(0)
        const logs = yield* logsAfterRestart(filename, streams)
        expect(Checker.check({ logs, attempts: [...GroupCommit.checkerAttempts(answered), ...unanswered] })).toEqual([])
        expect(GroupCommit.audit(answered, logs)).toEqual([])
        console.log(`killed 3 times with ${answered.length} appends answered and ${unanswered.length} in flight`)
      }),
    { timeout: 120_000 }
  )
})
