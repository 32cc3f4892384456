// One consumer process for the consumer tests. It runs Consumer.run under its own owner name and records, as JSON
// lines in its own file, when it started and each event its handler began and finished (flushed before the handler
// returns), so that a parent that kills it with SIGKILL knows what it handled and when. With `transactional`, the
// handler also projects each event into tables of the store's database, in the consumer's transaction. With
// `hangAfter`, the handler hangs on the event after that many (after recording it), so that the parent kills it
// mid-batch or mid-transaction.
import { Consumer, Position } from "@concord/core"
import { SqlCheckpoints, SqlEventStore } from "@concord/sql"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, Redacted, Schedule } from "effect"
import * as fs from "node:fs"

export interface ConsumerProcessOptions {
  readonly backend: "sqlite" | "pg"
  readonly target: string
  readonly tablePrefix: string
  readonly name: string
  readonly owner: string
  readonly out: string
  readonly leaseMillis: number
  readonly checkpointEvents: number
  readonly transactional: boolean
  /** How long the handler takes per event. */
  readonly handleMillis: number
  readonly hangAfter?: number | undefined
}

export interface Line {
  readonly kind: "started" | "begin" | "end" | "hang"
  readonly owner: string
  readonly at: number
  readonly id?: string
  readonly position?: string
}

const options = JSON.parse(process.argv[2]!) as ConsumerProcessOptions

const record = (line: Omit<Line, "owner" | "at">) =>
  fs.appendFileSync(options.out, JSON.stringify({ ...line, owner: options.owner, at: Date.now() }) + "\n")

/** The projection: per stream, how many events, the sum of their `n`, the last version; and one row per handling. */
const project = (
  event: { readonly id: string; readonly streamId: string; readonly version: number; readonly data: unknown }
) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const n = (event.data as { readonly n: number }).n
    return Effect.zipRight(
      sql`INSERT INTO ${sql(`${options.tablePrefix}projection`)} (stream_id, events, total, last_version)
        VALUES (${event.streamId}, 1, ${n}, ${event.version})
        ON CONFLICT (stream_id) DO UPDATE SET events = ${sql(`${options.tablePrefix}projection`)}.events + 1,
          total = ${
        sql(`${options.tablePrefix}projection`)
      }.total + excluded.total, last_version = excluded.last_version`,
      sql`INSERT INTO ${sql(`${options.tablePrefix}handled`)} (event_id) VALUES (${event.id})`
    )
  })

let handled = 0
const consumer = Consumer.run({
  name: options.name,
  owner: options.owner,
  lease: options.leaseMillis,
  waitForLease: Schedule.spaced("50 millis"),
  checkpointEvery: { events: options.checkpointEvents, within: "1 hour" },
  transactional: options.transactional,
  retry: Schedule.recurs(0),
  handle: (event) =>
    Effect.gen(function*() {
      const position = Position.toString(event.position)
      if (options.hangAfter !== undefined && handled === options.hangAfter) {
        record({ kind: "hang", id: event.id, position })
        return yield* Effect.never
      }
      record({ kind: "begin", id: event.id, position })
      if (options.transactional) yield* project(event)
      if (options.handleMillis > 0) yield* Effect.sleep(options.handleMillis)
      handled++
      record({ kind: "end", id: event.id, position })
    })
})

const client: Layer.Layer<SqlClient.SqlClient, unknown> = options.backend === "sqlite"
  ? SqliteEventStore.layerClient({ filename: options.target })
  : PgClient.layer({ url: Redacted.make(options.target), maxConnections: 3 })
// The transactional consumer's handler writes through the store's client; the other one uses the ready-made layers.
const layer = options.transactional
  ? Layer.mergeAll(
    SqlEventStore.layer({ tablePrefix: options.tablePrefix }),
    SqlCheckpoints.layer({ tablePrefix: options.tablePrefix })
  ).pipe(Layer.provideMerge(client))
  : options.backend === "sqlite"
  ? SqliteEventStore.layer({ filename: options.target, tablePrefix: options.tablePrefix })
  : PgEventStore.layer({ url: options.target, tablePrefix: options.tablePrefix, maxConnections: 3 })

record({ kind: "started" })
Effect.runPromise(consumer.pipe(Effect.provide(layer as Layer.Layer<any, any>))).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
