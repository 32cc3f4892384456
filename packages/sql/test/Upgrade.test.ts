// A database written by the previous release (migration 1 only: events and streams, no read side) opened by this
// one: migration 2_read_side upgrades it, the old events keep their positions' order and come first in the global
// log, and new appends come after them.
import { EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Checker } from "@concord/testing"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Chunk, Effect, Redacted, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Migrations from "../src/internal/migrations.js"
import { postgresSuites } from "./support/suites.js"

/** The previous release's schema: its one migration, run by the Migrator as that release ran it. */
const previousRelease = (prefix: string) => {
  const names = Migrations.tables(prefix)
  return Migrator.make({})({
    table: names.migrations,
    loader: Migrator.fromRecord({
      "1_create_events_and_streams": Migrations.migrations(names)["1_create_events_and_streams"]
    })
  })
}

/** Old events, interleaved over three streams and written as that release wrote them (batches of one or more). */
const oldBatches: ReadonlyArray<readonly [stream: string, count: number]> = [
  ["client-a", 1],
  ["client-b", 1],
  ["client-a", 2],
  ["client-c", 1],
  ["client-b", 3],
  ["client-a", 1]
]

const writeAsPreviousRelease = (prefix: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const versions = new Map<string, number>()
    const ids: Array<string> = []
    for (const [stream, count] of oldBatches) {
      const first = (versions.get(stream) ?? 0) + 1
      const last = first + count - 1
      const rows = Array.from({ length: count }, (_, i) => {
        const id = `${stream}-old-${first + i}`
        ids.push(id)
        return {
          stream_id: stream,
          version: first + i,
          event_id: id,
          type: "Noted",
          data: JSON.stringify({ text: id }),
          metadata: JSON.stringify({}),
          recorded_at: new Date(Date.UTC(2025, 0, 1, 0, 0, ids.length)).toISOString(),
          batch_first: first,
          batch_last: last,
          rebased_over: 0
        }
      })
      yield* sql.withTransaction(Effect.zipRight(
        sql`INSERT INTO ${sql(`${prefix}events`)} ${sql.insert(rows)}`,
        sql`INSERT INTO ${sql(`${prefix}streams`)} (stream_id, version) VALUES (${stream}, ${last})
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`
      ))
      versions.set(stream, last)
    }
    return ids
  })

const upgrade = (
  name: string,
  client: Layer.Layer<SqlClient.SqlClient, unknown>,
  newCommits: "zero" | "transaction ids"
) =>
  it.effect(
    `${name}: a database of the previous release upgrades, its events first in their order`,
    () =>
      Effect.gen(function*() {
        const prefix = `upgrade_${Date.now().toString(36)}_`
        yield* previousRelease(prefix)
        const oldIds = yield* writeAsPreviousRelease(prefix)
        const sql = yield* SqlClient.SqlClient
        const oldPositions =
          (yield* sql<{ position: number | string }>`SELECT position FROM ${sql(`${prefix}events`)} ORDER BY position`)
            .map((row) => Position.make({ sequence: BigInt(row.position) }))

        const store = yield* SqlEventStore.make({ tablePrefix: prefix })
        const migrations = yield* sql<{ migration_id: number }>`SELECT migration_id FROM ${
          sql(`${prefix}migrations`)
        } ORDER BY migration_id`
        expect(migrations.map((row) => Number(row.migration_id))).toEqual([1, 2, 3])

        // The old events, in the order they were written, at their old positions (commit 0).
        const before = Chunk.toReadonlyArray(yield* Stream.runCollect(store.readAll()))
        expect(before.map((event) => event.id)).toEqual(oldIds)
        expect(before.map((event) => event.position)).toEqual(oldPositions)
        expect(before.map((event) => Position.toString(event.position))).toEqual(
          oldPositions.map((position) => position.sequence.toString())
        )
        const streamA = Chunk.toReadonlyArray(yield* Stream.runCollect(store.read(StreamId.make("client-a"))))
        expect(streamA.map((event) => event.version)).toEqual([1, 2, 3, 4])
        for (const event of streamA) {
          expect(before.find((logged) => logged.id === event.id)?.position).toEqual(event.position)
        }

        // New appends come after every old event, whether the stream is old or new.
        yield* store.append(StreamId.make("client-a"), ExpectedVersion.exact(4), [{ type: "Noted", data: { n: 5 } }])
        yield* store.append(StreamId.make("client-z"), ExpectedVersion.noStream, [{ type: "Noted", data: { n: 1 } }])
        const after = Chunk.toReadonlyArray(yield* Stream.runCollect(store.readAll()))
        expect(after.slice(0, before.length)).toEqual(before)
        const appended = after.slice(before.length)
        expect(appended.map((event) => `${event.streamId}@${event.version}`)).toEqual(["client-a@5", "client-z@1"])
        for (const event of appended) {
          expect(Position.isAfter(event.position, before[before.length - 1]!.position)).toBe(true)
          expect(event.position.commit === 0n).toBe(newCommits === "zero")
        }
        Checker.assertLog({
          log: after,
          streams: yield* Checker.readLogs(["client-a", "client-b", "client-c", "client-z"]).pipe(
            Effect.provideService(EventStore.EventStore, store)
          )
        })
        // A subscriber from the start gets the same log, and the checkpoints table is there for consumers.
        const followed = yield* Stream.runCollect(Stream.take(store.subscribe(), after.length))
        expect(Chunk.toReadonlyArray(followed)).toEqual(after)
        const checkpoints = yield* sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql(`${prefix}checkpoints`)}`
        expect(Number(checkpoints[0]!.n)).toBe(0)
        // Idempotent: opening it again runs nothing.
        yield* SqlEventStore.make({ tablePrefix: prefix })
        expect(Chunk.toReadonlyArray(yield* Stream.runCollect(store.readAll()))).toEqual(after)
      }).pipe(Effect.provide(client)),
    { timeout: 60_000 }
  )

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-upgrade-"))
describe("upgrading a SQLite database of the previous release", () => {
  upgrade("SQLite", SqliteEventStore.layerClient({ filename: path.join(directory, "old.db") }), "zero")
})

const pgUrl = inject("pgUrl")
describe.skipIf(pgUrl === undefined)(postgresSuites.upgrade, () => {
  upgrade("PostgreSQL", PgClient.layer({ url: Redacted.make(pgUrl ?? "") }), "transaction ids")
})
