// Consumers in OS processes on one database: killed with SIGKILL mid-batch or mid-transaction and started again,
// and two processes running one consumer name. Each process records what its handler did (./support/consumer.ts).
import { Checkpoints, EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import type { Event } from "@concord/core"
import { SqlCheckpoints, SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Random, Redacted, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { ConsumerProcessOptions, Line } from "./support/consumer.js"
import { readLines, startConsumer, waitForLines } from "./support/consumers.js"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-consumers-"))
const pgUrl = inject("pgUrl")

const targets = [
  {
    suite: "consumers in many OS processes on one SQLite file",
    backend: "sqlite" as const,
    target: path.join(directory, "consumers.db"),
    skip: false
  },
  { suite: postgresSuites.consumerProcesses, backend: "pg" as const, target: pgUrl ?? "", skip: pgUrl === undefined }
]

type Target = (typeof targets)[number]

const client = (target: Target): Layer.Layer<SqlClient.SqlClient, unknown> =>
  target.backend === "sqlite"
    ? SqliteEventStore.layerClient({ filename: target.target })
    : PgClient.layer({ url: Redacted.make(target.target), maxConnections: 3 })

/** The store, its checkpoints and its client, as the transactional processes have them. */
const layerFor = (target: Target, tablePrefix: string) =>
  Layer.mergeAll(SqlEventStore.layer({ tablePrefix }), SqlCheckpoints.layer({ tablePrefix })).pipe(
    Layer.provideMerge(client(target))
  )

const streams = ["acct-1", "acct-2", "acct-3", "acct-4"].map((id) => StreamId.make(id))

/** Appends `count` events, one append each, to random streams, each with a random `n`. */
const appendEvents = (count: number) =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) =>
      Effect.forEach(Array.from({ length: count }), () =>
        Effect.gen(function*() {
          const stream = streams[yield* Random.nextIntBetween(0, streams.length)]!
          yield* store.append(stream, ExpectedVersion.any, [{
            type: "Deposited",
            data: { n: yield* Random.nextIntBetween(1, 1000) }
          }])
        }), { discard: true })
  )

const readLog = Effect.flatMap(
  EventStore.EventStore,
  (store) => Effect.map(Stream.runCollect(store.readAll()), Chunk.toArray)
)

const ids = (events: ReadonlyArray<Event.RecordedEvent>) => events.map((event) => event.id)
const ended = (lines: ReadonlyArray<Line>) => lines.filter((line) => line.kind === "end").map((line) => line.id!)
const begun = (lines: ReadonlyArray<Line>) => lines.filter((line) => line.kind === "begin")

const processOptions = (
  target: Target,
  tablePrefix: string,
  owner: string,
  options: Partial<ConsumerProcessOptions>
): ConsumerProcessOptions => ({
  backend: target.backend,
  target: target.target,
  tablePrefix,
  name: "ledger",
  owner,
  out: path.join(directory, `${tablePrefix}${owner}.jsonl`),
  leaseMillis: 1_000,
  checkpointEvents: 1,
  transactional: false,
  handleMillis: 0,
  ...options
})

/** Starts a process and waits until it recorded what `until` wants; returns its lines then. */
const run = (options: ConsumerProcessOptions, until: (lines: ReadonlyArray<Line>) => boolean) =>
  Effect.promise(async () => {
    const child = startConsumer(options)
    const lines = await waitForLines(options.out, until, 90_000)
    return { child, lines }
  })

const kill = (child: ReturnType<typeof startConsumer>) =>
  Effect.promise(async () => {
    child.kill("SIGKILL")
    return await child.finished
  })

const checkpointOf = (name: string) =>
  Effect.flatMap(Checkpoints.Checkpoints, (checkpoints) => Effect.map(checkpoints.get(name), Option.getOrThrow))

/**
 * A number of events to hang after, somewhere mid-run: the event it hangs on is the last of a batch, the one whose
 * handling a save follows, so that a consumer saving before it handles would skip it.
 */
const midBatch = (every: number, from: number, to: number) =>
  Effect.map(Random.nextIntBetween(Math.floor(from / every), Math.floor(to / every)), (n) => n * every + every - 1)

for (const target of targets) {
  describe.skipIf(target.skip)(target.suite, () => {
    it.live(
      "killed with SIGKILL mid-batch and started again: nothing skipped; only the events since its last save twice",
      () => {
        const prefix = `cons_crash_${target.backend}_${Date.now().toString(36)}_`
        return Effect.gen(function*() {
          yield* appendEvents(120)
          const every = 10
          const hangAfter = yield* midBatch(every, 25, 95)
          const first = processOptions(target, prefix, "first", { checkpointEvents: every, hangAfter })
          const { child } = yield* run(first, (lines) => lines.some((line) => line.kind === "hang"))
          expect(yield* kill(child)).toBe(null)
          const log = yield* readLog
          const saved = Math.floor(hangAfter / every) * every
          // The first handled a prefix of the log and saved its checkpoint after every 10th event, not after the rest.
          expect(ended(readLines(first.out))).toEqual(ids(log.slice(0, hangAfter)))
          const left = yield* checkpointOf("ledger")
          expect(Position.toString(left.position)).toBe(Position.toString(log[saved - 1]!.position))
          expect(left.owner).toBe("first")

          yield* appendEvents(40)
          const all = yield* readLog
          const last = all[all.length - 1]!.id
          const second = processOptions(target, prefix, "second", { checkpointEvents: every })
          const { child: next } = yield* run(second, (lines) => ended(lines).includes(last))
          yield* kill(next)
          const secondHandled = ended(readLines(second.out))
          // The second went on from the saved checkpoint: every later event once, in log order, none skipped.
          expect(secondHandled).toEqual(ids(all.slice(saved)))
          // At least once: every event was handled; twice only those the first handled after its last save.
          const twice = secondHandled.filter((id) => ended(readLines(first.out)).includes(id))
          expect(twice).toEqual(ids(all.slice(saved, hangAfter)))
          expect(twice.length).toBeLessThan(every)
          console.log(
            `${target.backend}: killed after ${hangAfter} events, checkpoint at ${saved}; ${twice.length} handled twice`
          )
        }).pipe(Effect.provide(layerFor(target, prefix)))
      },
      { timeout: 180_000 }
    )

    it.live(
      "a transactional projection in the same database equals the fold of the log exactly after SIGKILL and restart",
      () => {
        const prefix = `cons_tx_${target.backend}_${Date.now().toString(36)}_`
        return Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const projection = sql(`${prefix}projection`)
          const handled = sql(`${prefix}handled`)
          yield* sql`CREATE TABLE ${projection} (stream_id TEXT PRIMARY KEY, events INTEGER NOT NULL,
            total BIGINT NOT NULL, last_version INTEGER NOT NULL)`
          yield* sql`CREATE TABLE ${handled} (event_id TEXT NOT NULL)`
          yield* appendEvents(100)
          const every = 8
          const hangAfter = yield* midBatch(every, 20, 90)
          const first = processOptions(target, prefix, "first", {
            transactional: true,
            checkpointEvents: every,
            hangAfter
          })
          const { child } = yield* run(first, (lines) => lines.some((line) => line.kind === "hang"))
          expect(yield* kill(child)).toBe(null)
          const committed = Math.floor(hangAfter / every) * every
          // The handler ran on more events than were committed: the transaction it hung in was rolled back with the
          // checkpoint, so the projection holds exactly the events up to the checkpoint.
          expect(ended(readLines(first.out))).toHaveLength(hangAfter)
          const log = yield* readLog
          const projected = yield* sql<{ event_id: string }>`SELECT event_id FROM ${handled}`
          expect(projected.map((row) => row.event_id).sort()).toEqual(ids(log.slice(0, committed)).sort())
          expect(Position.toString((yield* checkpointOf("ledger")).position)).toBe(
            Position.toString(log[committed - 1]!.position)
          )

          yield* appendEvents(50)
          const all = yield* readLog
          const last = all[all.length - 1]!
          const second = processOptions(target, prefix, "second", { transactional: true, checkpointEvents: every })
          const checkpoints = yield* Checkpoints.Checkpoints
          const child2 = startConsumer(second)
          // Done when the checkpoint reaches the end of the log (the projection committed with it).
          yield* checkpoints.get("ledger").pipe(
            Effect.map(Option.getOrThrow),
            Effect.repeat({
              until: (row) => Position.toString(row.position) === Position.toString(last.position),
              schedule: Schedule.spaced("20 millis")
            }),
            Effect.timeout("90 seconds")
          )
          yield* kill(child2)

          const fold = new Map<string, { events: number; total: number; last_version: number }>()
          for (const event of all) {
            const row = fold.get(event.streamId) ?? { events: 0, total: 0, last_version: 0 }
            fold.set(event.streamId, {
              events: row.events + 1,
              total: row.total + (event.data as { readonly n: number }).n,
              last_version: event.version
            })
          }
          const rows = yield* sql<{ stream_id: string; events: number; total: number | string; last_version: number }>`
            SELECT stream_id, events, total, last_version FROM ${projection} ORDER BY stream_id`
          expect(
            new Map(rows.map((row) => [row.stream_id, {
              events: Number(row.events),
              total: Number(row.total),
              last_version: Number(row.last_version)
            }]))
          ).toEqual(fold)
          const handledRows = yield* sql<{ event_id: string }>`SELECT event_id FROM ${handled}`
          expect(handledRows.map((row) => row.event_id).sort()).toEqual(ids(all).sort())
          console.log(
            `${target.backend}: killed in the transaction after ${hangAfter} events, ${committed} committed; ` +
              `the projection of ${all.length} events equals the fold`
          )
        }).pipe(Effect.provide(layerFor(target, prefix)))
      },
      { timeout: 180_000 }
    )

    it.live(
      "two processes with one consumer name: the second handles nothing while the first lives, then takes over",
      () => {
        const prefix = `cons_two_${target.backend}_${Date.now().toString(36)}_`
        return Effect.gen(function*() {
          yield* appendEvents(20)
          const first = processOptions(target, prefix, "first", { handleMillis: 2, leaseMillis: 1_500 })
          const second = processOptions(target, prefix, "second", { handleMillis: 2, leaseMillis: 1_500 })
          const { child: firstChild } = yield* run(first, (lines) => ended(lines).length >= 10)
          const { child: secondChild } = yield* run(second, (lines) => lines.some((line) => line.kind === "started"))
          // Both run for a while, events arriving all along: one process handles them.
          const until = Date.now() + 2_000
          while (Date.now() < until) {
            yield* appendEvents(2)
            yield* Effect.sleep("10 millis")
          }
          yield* Effect.promise(() => waitForLines(first.out, (lines) => ended(lines).length >= 40))
          const killedAt = Date.now()
          yield* kill(firstChild)
          yield* appendEvents(30)
          const all = yield* readLog
          const last = all[all.length - 1]!.id
          yield* Effect.promise(() => waitForLines(second.out, (lines) => ended(lines).includes(last), 90_000))
          yield* kill(secondChild)

          const firstLines = readLines(first.out)
          const secondLines = readLines(second.out)
          const secondStarted = secondLines.find((line) => line.kind === "started")!.at
          // The second was alive for seconds while the first was, and began nothing until the first was killed.
          expect(killedAt - secondStarted).toBeGreaterThan(1_500)
          expect(begun(secondLines).every((line) => line.at >= killedAt)).toBe(true)
          expect(begun(secondLines).length).toBeGreaterThan(0)
          // Between them every event was handled, in log order; at most the one in flight twice.
          const firstHandled = ended(firstLines)
          const secondHandled = ended(secondLines)
          expect(firstHandled).toEqual(ids(all.slice(0, firstHandled.length)))
          const twice = secondHandled.filter((id) => firstHandled.includes(id))
          expect(twice.length).toBeLessThanOrEqual(1)
          expect(secondHandled).toEqual(ids(all.slice(firstHandled.length - twice.length)))
          const waited = begun(secondLines)[0]!.at - killedAt
          console.log(
            `${target.backend}: the first handled ${firstHandled.length}, the second took over ${waited} ms after ` +
              `the kill and handled ${secondHandled.length} (${twice.length} twice)`
          )
        }).pipe(Effect.provide(layerFor(target, prefix)))
      },
      { timeout: 180_000 }
    )
  })
}
