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
  /** PostgreSQL: the function that makes many guarded appends in one statement (migration `3_append_many`). */
  readonly appendMany: string
}

/** @internal */
export const tables = (prefix: string): Tables => ({
  events: `${prefix}events`,
  streams: `${prefix}streams`,
  migrations: `${prefix}migrations`,
  checkpoints: `${prefix}checkpoints`,
  logOrder: `${prefix}log_order`,
  appendMany: `${prefix}append_many`
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
 * PostgreSQL: the function behind group commit (`pgGroupCommit.ts`), which makes many appends in the one statement
 * that calls it, so in one round trip and one commit. It takes a JSON array of appends (`stream`, `expected`,
 * `first`, `last`, `rebased`, `events`: each event's `version`, `id`, `type`, `data`, `metadata`, `recorded_at`) and
 * answers a status for each, in order. Each append is the fast path's write (see `fastPath.ts`): the stream row moves
 * from `expected` to `last` only if it is there, was last written by an earlier transaction than this one and is not
 * locked by another (`SKIP LOCKED`), and only then go the events in; `written` if so, `missed` if not. Each runs in
 * a block of its own, a subtransaction, so that a failure rolls back that append alone: `unique` when a unique
 * constraint refused it (an event id stored before), `missed` for any other failure (the full path, which takes it
 * next, then meets it and answers it as its own). Each lock wait is bounded (`lock_timeout`, which applies to every wait, not to the statement: a group waits up to
 * 20 ms for each append that meets a lock) and then a miss too: the
 * full path waits for a lock in a transaction of its own, and the others of the group need not wait with it.
 *
 * SQLite has no such function: its group commit runs its appends in one transaction of its own connection.
 */
const appendMany = (names: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () => sql.unsafe(appendManyFunction(names)),
      orElse: () => Effect.void
    }))

/** A name as a quoted identifier of PostgreSQL. */
const identifier = (name: string) => `"${name.replaceAll(`"`, `""`)}"`

const appendManyFunction = (names: Tables) => {
  const streams = identifier(names.streams)
  const events = identifier(names.events)
  const body = `
DECLARE
  append jsonb;
  a_stream text;
  a_expected integer;
  a_last integer;
  statuses text[] := ARRAY[]::text[];
BEGIN
  FOR append IN SELECT value FROM jsonb_array_elements(appends) LOOP
    a_stream := append->>'stream';
    a_expected := (append->>'expected')::integer;
    a_last := (append->>'last')::integer;
    BEGIN
      IF a_expected = 0 THEN
        INSERT INTO ${streams} AS s (stream_id, version, tx_id) VALUES (a_stream, a_last, pg_current_xact_id())
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, tx_id = excluded.tx_id
          WHERE s.version = 0 AND s.tx_id <= excluded.tx_id;
      ELSE
        UPDATE ${streams} SET version = a_last, tx_id = pg_current_xact_id()
          WHERE stream_id = (
            SELECT stream_id FROM ${streams}
            WHERE stream_id = a_stream AND version = a_expected AND tx_id <= pg_current_xact_id()
            FOR NO KEY UPDATE SKIP LOCKED
          ) AND version = a_expected;
      END IF;
      IF FOUND THEN
        INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first,
          batch_last, rebased_over)
        SELECT a_stream, e.version, e.id, e.type, e.data, e.metadata, e.recorded_at, (append->>'first')::integer,
          a_last, (append->>'rebased')::integer
        FROM jsonb_to_recordset(append->'events')
          AS e(version integer, id text, type text, data jsonb, metadata jsonb, recorded_at timestamptz);
        statuses := statuses || 'written'::text;
      ELSE
        statuses := statuses || 'missed'::text;
      END IF;
    EXCEPTION
      WHEN unique_violation THEN statuses := statuses || 'unique'::text;
      WHEN OTHERS THEN statuses := statuses || 'missed'::text;
    END;
  END LOOP;
  RETURN statuses;
END`
  // Dollar quotes whose tag the body cannot contain, whatever the table names.
  let tag = "$body$"
  while (body.includes(tag)) tag = `$body${tag.length}$`
  return `CREATE FUNCTION ${identifier(names.appendMany)}(appends jsonb) RETURNS text[] LANGUAGE plpgsql
    SET lock_timeout = '20ms'
    AS ${tag}${body}${tag}`
}

/**
 * Every migration of the store, by name, in order.
 *
 * @internal
 */
export const migrations = (names: Tables) => ({
  "1_create_events_and_streams": unbounded(createTables(names)),
  "2_read_side": unbounded(readSide(names)),
  "3_append_many": unbounded(appendMany(names))
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
