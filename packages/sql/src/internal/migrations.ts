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
  /** Consumers' checkpoints and leases (migration `2_read_side`). */
  readonly checkpoints: string
  /**
   * PostgreSQL: the index of the global log's order, (tx_id, position). Named so that its first letter after the
   * prefix differs from every table's: PostgreSQL cuts names at 63 bytes, and a long prefix must not make two alike.
   */
  readonly logOrder: string
}

/** @internal */
export const tables = (prefix: string): Tables => ({
  events: `${prefix}events`,
  streams: `${prefix}streams`,
  migrations: `${prefix}migrations`,
  checkpoints: `${prefix}checkpoints`,
  logOrder: `${prefix}log_order`
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
 * The read side. PostgreSQL assigns `position` (an identity) when a row is inserted, not when its transaction
 * commits, so positions become visible out of order; each event also keeps the id of the transaction that wrote it
 * (`tx_id`), and the global log is ordered by (tx_id, position) — see `globalLog.ts` for why that order is safe to
 * follow. Events written before this migration get tx_id 0: they keep their positions' order and come before every
 * later one. The stream row keeps the transaction id of its last append, so that an append can check that its own
 * transaction comes after it (the stream's versions then stay in log order). SQLite commits one writer at a time,
 * so its positions are already the commit order.
 *
 * Both: the consumers' checkpoints, with the lease of the process that holds each consumer.
 */
const readSide = (names: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events = sql(names.events)
    const streams = sql(names.streams)
    const checkpoints = sql(names.checkpoints)
    yield* sql.onDialectOrElse({
      pg: () =>
        Effect.all([
          // A constant default fills the existing rows without rewriting the table; new rows take their writer's id.
          sql`ALTER TABLE ${events} ADD COLUMN tx_id xid8 NOT NULL DEFAULT '0'`,
          sql`ALTER TABLE ${events} ALTER COLUMN tx_id SET DEFAULT pg_current_xact_id()`,
          sql`CREATE INDEX ${sql(names.logOrder)} ON ${events} (tx_id, position)`,
          sql`ALTER TABLE ${streams} ADD COLUMN tx_id xid8 NOT NULL DEFAULT '0'`,
          sql`CREATE TABLE ${checkpoints} (
            consumer TEXT PRIMARY KEY,
            position TEXT NOT NULL,
            owner TEXT,
            lease_until BIGINT NOT NULL
          )`
        ], { discard: true }),
      sqlite: () =>
        sql`CREATE TABLE ${checkpoints} (
          consumer TEXT PRIMARY KEY,
          position TEXT NOT NULL,
          owner TEXT,
          lease_until INTEGER NOT NULL
        )`,
      orElse: () => Effect.dieMessage("Concord's SQL store supports SQLite and PostgreSQL")
    })
  })

/**
 * Every migration of the store, by name, in order.
 *
 * @internal
 */
export const migrations = (names: Tables) => ({
  "1_create_events_and_streams": unbounded(createTables(names)),
  "2_read_side": unbounded(readSide(names))
})

/**
 * A migration without the statement timeout that `PgEventStore` sets on its connections, which bounds the store's
 * everyday statements, not its upgrades: building an index over a large table may take longer. PostgreSQL runs each
 * migration inside the migrator's transaction, to whose end `SET LOCAL` holds.
 */
const unbounded = <A, E>(migration: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () => Effect.zipRight(sql`SET LOCAL statement_timeout = 0`, migration),
      orElse: () => migration
    }))

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
      loader: Migrator.fromRecord(migrations(names))
    })
    return dialect === "sqlite" ? SqliteTransaction.immediate(sql, migrate) : migrate
  }).pipe(
    // PostgreSQL's Migrator locks its table only once the table exists, so stores starting at the same moment on an
    // empty database can collide creating it; SQLite without a busy timeout refuses a second writer at once. Running
    // the migrations is idempotent, so the loser tries again.
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(20))))
  )
