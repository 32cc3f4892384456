// The stores of Concord and the raw baselines, each made fresh for a trial and closed after it (Emmett's come from
// Contenders.ts).
import { EventStore } from "@concord/core"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import Database from "better-sqlite3"
import type { Layer } from "effect"
import { ManagedRuntime } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "concord-bench-"))
let counter = 0

/** A fresh SQLite file. */
export const freshFile = () => path.join(scratch, `bench-${process.pid}-${counter++}.db`)

/** A fresh PostgreSQL database on the cluster, and its URL. */
export const freshDatabase = async (clusterUrl: string) => {
  const name = `bench_${process.pid}_${counter++}`
  const admin = new pg.Client({ connectionString: clusterUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  return clusterUrl.replace(/\/[^/]+$/, `/${name}`)
}

/** A Concord store as a runtime; `dispose` closes it. */
export const concord = async (layer: Layer.Layer<EventStore.EventStore, unknown>) => {
  const runtime = ManagedRuntime.make(layer)
  const store = await runtime.runPromise(EventStore.EventStore)
  return { store, run: runtime.runPromise, dispose: () => runtime.dispose() }
}

/**
 * How SQLite syncs a commit: `full` syncs the write-ahead log at every commit (an acknowledged append survives a power
 * loss), `normal` only at checkpoints (it survives a crash of the process, not of the machine).
 */
export type Synchronous = "full" | "normal"

/** Concord's SQLite store on `file`, at the store's default `synchronous` unless one is given. */
export const concordSqlite = (file: string, synchronous?: Synchronous) =>
  concord(SqliteEventStore.layer({ filename: file, synchronous }))

export const concordPg = (url: string, connections: number) =>
  concord(PgEventStore.layer({ url, maxConnections: connections }))

export const concordMemory = () => concord(EventStore.layerMemory())

/** better-sqlite3 in WAL mode at `synchronous`, with a table of Concord's shape: the bare insert in a transaction. */
export const rawSqlite = (file: string, synchronous: Synchronous = "normal"): {
  readonly append: (
    stream: string,
    first: number,
    events: ReadonlyArray<{ type: string; data: unknown }>
  ) => Promise<void>
  readonly close: () => void
} => {
  const db = new Database(file)
  db.pragma("journal_mode = WAL")
  db.pragma(`synchronous = ${synchronous}`)
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT NOT NULL,
    version INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, data TEXT NOT NULL,
    UNIQUE (stream_id, version))`)
  const insert = db.prepare("INSERT INTO events (stream_id, version, event_id, type, data) VALUES (?, ?, ?, ?, ?)")
  const append = db.transaction(
    (stream: string, first: number, events: ReadonlyArray<{ type: string; data: unknown }>) => {
      events.forEach((event, i) =>
        insert.run(stream, first + i, crypto.randomUUID(), event.type, JSON.stringify(event.data))
      )
    }
  )
  return {
    append: async (stream, expected, events) => append(stream, expected + 1, events),
    close: () => void db.close()
  }
}

/** `pg` with a pool: the bare multi-row insert in a transaction. */
export const rawPg = async (url: string, connections: number) => {
  const pool = new pg.Pool({ connectionString: url, max: connections })
  await pool.query(`CREATE TABLE events (position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id TEXT NOT NULL, version INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    data JSONB NOT NULL, UNIQUE (stream_id, version))`)
  const append = async (stream: string, expected: number, events: ReadonlyArray<{ type: string; data: unknown }>) => {
    const first = expected + 1
    const client = await pool.connect()
    try {
      await client.query("BEGIN")
      const values = events.map((_, i) => `($1, $${2 + i * 4}, $${3 + i * 4}, $${4 + i * 4}, $${5 + i * 4})`).join(", ")
      const params = events.flatMap((
        event,
        i
      ) => [first + i, crypto.randomUUID(), event.type, JSON.stringify(event.data)])
      await client.query(`INSERT INTO events (stream_id, version, event_id, type, data) VALUES ${values}`, [
        stream,
        ...params
      ])
      await client.query("COMMIT")
    } finally {
      client.release()
    }
  }
  return { append, close: () => pool.end() }
}

export const dropScratch = () => fs.rmSync(scratch, { recursive: true, force: true })
