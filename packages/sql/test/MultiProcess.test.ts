import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Client, Events, Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Checker } from "@concord/testing"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { readAttempts, startWriter } from "./support/processes.js"
import { postgresSuites } from "./support/suites.js"

const decode = Event.decode(Events.CrmEvent)
const fold: Checker.Fold<Client.Client> = {
  initialState: Client.initial,
  evolve: (state, event) => Client.evolve(state, Effect.runSync(decode(event)))
}

interface Backend {
  readonly name: string
  readonly suite: string
  readonly skip: boolean
  readonly backend: "sqlite" | "pg"
  readonly target: string
  readonly layer: (tablePrefix: string) => Layer.Layer<EventStore.EventStore, EventStore.StoreError>
}

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-processes-"))
const sqliteFile = path.join(directory, "shared.db")
const pgUrl = inject("pgUrl")
const backends: ReadonlyArray<Backend> = [
  {
    name: "one SQLite file",
    suite: "many OS processes on one SQLite file",
    skip: false,
    backend: "sqlite",
    target: sqliteFile,
    layer: (tablePrefix) => SqliteEventStore.layer({ filename: sqliteFile, tablePrefix })
  },
  {
    name: "one PostgreSQL database",
    suite: postgresSuites.multiProcess,
    skip: pgUrl === undefined,
    backend: "pg",
    target: pgUrl ?? "",
    layer: (tablePrefix) => PgEventStore.layer({ url: pgUrl ?? "", tablePrefix })
  }
]

const sqlClient = (target: Backend): Layer.Layer<SqlClient.SqlClient, unknown> =>
  target.backend === "sqlite"
    ? SqliteClient.layer({ filename: target.target })
    : PgClient.layer({ url: Redacted.make(target.target) })

/** Registers one client per stream, recorded as acknowledged attempts for the checker. */
const registerClients = (streams: ReadonlyArray<string>) =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) =>
      Effect.forEach(streams, (id): Effect.Effect<Checker.Attempt, EventStore.AppendError> => {
        const events = [{
          id: Event.EventId.make(`${id}-registered`),
          type: "ClientRegistered",
          data: { name: id, value: 100 }
        }]
        return Effect.map(store.append(StreamId.make(id), ExpectedVersion.noStream, events), (result) => ({
          streamId: id,
          expectedVersion: ExpectedVersion.noStream,
          events,
          registry: Registry.registry,
          outcome: { _tag: "Acknowledged", result }
        }))
      })
  )

for (const target of backends) {
  describe.skipIf(target.skip)(target.suite, () => {
    it.effect(
      "4 processes starting on an empty schema at once run the migrations exactly once",
      () =>
        Effect.gen(function*() {
          const prefix = `migrate_${target.backend}_${Date.now().toString(36)}_`
          const writers = Array.from({ length: 4 }, (_, i) =>
            startWriter({
              name: `m${i}`,
              backend: target.backend,
              target: target.target,
              tablePrefix: prefix,
              streams: [`client-m-${prefix}`],
              appends: 3,
              batch: [1, 1],
              out: path.join(directory, `${prefix}m${i}.jsonl`)
            }))
          expect(yield* Effect.promise(() => Promise.all(writers.map((w) => w.finished)))).toEqual([0, 0, 0, 0])
          const migrations = yield* Effect.flatMap(
            SqlClient.SqlClient,
            (sql) => sql<{ migration_id: number }>`SELECT migration_id FROM ${sql(`${prefix}migrations`)}`
          ).pipe(
            Effect.provide(sqlClient(target))
          )
          expect(migrations.map((row) => Number(row.migration_id)).sort()).toEqual([1, 2, 3])
          const attempts = writers.flatMap((_, i) => readAttempts(path.join(directory, `${prefix}m${i}.jsonl`)))
          expect(attempts).toHaveLength(12)
        }),
      { timeout: 120_000 }
    )

    const prefix = `procs_${target.backend}_${Date.now().toString(36)}_`
    it.effect(
      "4 processes, 10,000 stale appends over 3 hot streams: nothing lost, duplicated or falsely accepted",
      () =>
        Effect.gen(function*() {
          const streams = ["client-a", "client-b", "client-c"].map((s) => `${s}-${prefix}`)
          const registered = yield* registerClients(streams)
          const writers = Array.from({ length: 4 }, (_, i) =>
            startWriter({
              name: `w${i}`,
              backend: target.backend,
              target: target.target,
              tablePrefix: prefix,
              streams,
              appends: 2_500,
              batch: [1, 3],
              out: path.join(directory, `${prefix}w${i}.jsonl`)
            }))
          const codes = yield* Effect.promise(() => Promise.all(writers.map((w) => w.finished)))
          expect(codes).toEqual([0, 0, 0, 0])
          const attempts = writers.flatMap((_, i) => readAttempts(path.join(directory, `${prefix}w${i}.jsonl`)))
          const logs = yield* Checker.readLogs(streams)
          expect(attempts).toHaveLength(10_000)
          expect(Checker.check({ logs, attempts: [...registered, ...attempts], fold })).toEqual([])
          const acknowledged = attempts.filter((a) => a.outcome._tag === "Acknowledged")
          const stored = [...logs.values()].reduce((n, log) => n + log.length, 0)
          expect(stored).toBe(streams.length + acknowledged.reduce((n, a) => n + a.events.length, 0))
          // Both sides were exercised: stale appends accepted past others' events, and real conflicts refused.
          expect(acknowledged.some((a) => a.outcome._tag === "Acknowledged" && a.outcome.result.rebasedOver > 0)).toBe(
            true
          )
          expect(attempts.some((a) => a.outcome._tag === "Rejected" && a.outcome.error === "ConcurrencyConflict")).toBe(
            true
          )
          console.log(
            `${target.name}: ${acknowledged.length} of ${attempts.length} appends accepted, ` +
              `${
                acknowledged.filter((a) => a.outcome._tag === "Acknowledged" && a.outcome.result.rebasedOver > 0).length
              } of them past others' events`
          )
        }).pipe(Effect.provide(target.layer(prefix))),
      { timeout: 300_000 }
    )
  })
}
