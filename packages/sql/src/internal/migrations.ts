import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

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
 * Runs the store's migrations, safely from many processes at once: the Migrator locks its table on PostgreSQL, and on
 * SQLite its transaction makes a concurrent second runner step aside once the first has committed.
 *
 * @internal
 */
export const run = (names: Tables) =>
  Migrator.make({})({
    table: names.migrations,
    loader: Migrator.fromRecord({ "1_create_events_and_streams": createTables(names) })
  }).pipe(
    // The Migrator locks its table only once the table exists: stores starting at the same moment on an empty
    // PostgreSQL database can collide creating it. Running the migrations is idempotent, so the loser tries again.
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(5))))
  )
