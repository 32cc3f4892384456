import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as SqliteTransaction from "./sqliteTransaction.js"

/** The table names of a store, from its prefix. */
export interface Tables {
  readonly events: string
  readonly streams: string
  readonly migrations: string
}

/** @internal */
export const tables = (prefix: string): Tables => ({
  events: `${prefix}events`,
  streams: `${prefix}streams`,
  migrations: `${prefix}migrations`
})

const createTables = (names: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events = sql(names.events)
    const streams = sql(names.streams)
    yield* sql.onDialectOrElse({
      pg: () =>
        Effect.all([
          sql`CREATE TABLE IF NOT EXISTS ${events} (
            position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stream_id TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version > 0),
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            data JSONB NOT NULL,
            metadata JSONB NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            batch_first INTEGER NOT NULL,
            batch_last INTEGER NOT NULL,
            rebased_over INTEGER NOT NULL,
            UNIQUE (stream_id, version)
          )`,
          sql`CREATE TABLE IF NOT EXISTS ${streams} (
            stream_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL CHECK (version >= 0)
          )`
        ]),
      sqlite: () =>
        Effect.all([
          sql`CREATE TABLE IF NOT EXISTS ${events} (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            stream_id TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version > 0),
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            metadata TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            batch_first INTEGER NOT NULL,
            batch_last INTEGER NOT NULL,
            rebased_over INTEGER NOT NULL,
            UNIQUE (stream_id, version)
          )`,
          sql`CREATE TABLE IF NOT EXISTS ${streams} (
            stream_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL CHECK (version >= 0)
          ) WITHOUT ROWID`
        ]),
      orElse: () => Effect.dieMessage("Concord's SQL store supports SQLite and PostgreSQL")
    })
  })

/**
 * Runs the store's migrations, safely from many processes at once. On SQLite the whole run holds the write lock
 * (`BEGIN IMMEDIATE`), so a second process waits for the first to commit and then finds nothing left to do: it never
 * returns before the tables exist. On PostgreSQL the Migrator locks its own table.
 *
 * @internal
 */
export const run = (names: Tables, dialect: "pg" | "sqlite") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const migrate = Migrator.make({})({
      table: names.migrations,
      loader: Migrator.fromRecord({ "1_create_events_and_streams": createTables(names) })
    })
    return dialect === "sqlite" ? SqliteTransaction.immediate(sql, migrate) : migrate
  }).pipe(
    // PostgreSQL's Migrator locks its table only once the table exists, so stores starting at the same moment on an
    // empty database can collide creating it; SQLite without a busy timeout refuses a second writer at once. Running
    // the migrations is idempotent, so the loser tries again.
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(20))))
  )
