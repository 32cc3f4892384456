/**
 * The statements of SQLite's group commit, prepared once on the writer's own connection, and the synchronous backend
 * the shared append runs against under its write lock. The rows are those the `SqlClient` path writes (`eventRows`:
 * JSON text, ISO time), and what it reads back decodes as the `SqlClient` path's rows do.
 *
 * @internal
 */
import { StreamVersion } from "@concord/core"
import type { Conflict, StoreBackend } from "@concord/core"
import type Sqlite from "better-sqlite3"
import type * as Migrations from "./migrations.js"
import { type EventRow, eventRows, type StoredIdRow, toRecorded, toStoredId } from "./rows.js"

/** A table's name as an SQL identifier, as `sql(name)` quotes it. */
const identifier = (name: string) => `"${name.replaceAll("\"", "\"\"")}"`

/**
 * What the driver threw from one of the backend's statements. The shared append calls the backend among calls of its
 * own (an application's conflict rule among them): the group commit answers a failure of the driver's with a
 * `StoreError`, and anything else thrown as the defect it is on the other paths.
 *
 * @internal
 */
export class DriverFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * The characters of JSON a group's backend has written, by which the group knows when it is large enough.
 *
 * @internal
 */
export interface Tally {
  written: number
}

/**
 * The writer's transaction control. Each statement throws what the driver throws.
 *
 * @internal
 */
export interface Transaction {
  readonly begin: () => void
  readonly commit: () => void
  readonly rollback: () => void
  readonly savepoint: () => void
  readonly rollbackToSavepoint: () => void
  readonly releaseSavepoint: () => void
  /** Whether the connection is inside a transaction: SQLite rolls one back by itself after some failures. */
  readonly inTransaction: () => boolean
}

/**
 * The writer's statements: its transaction control, and a backend for the shared append that counts what it writes
 * into a group's `Tally` and throws a {@link DriverFailure} when a statement fails (a full disk, a constraint a
 * trigger of the application's raised).
 *
 * @internal
 */
export interface Statements extends Transaction {
  readonly backend: (tally: Tally) => StoreBackend.SyncBackend
}

const transaction = (db: Sqlite.Database): Transaction => {
  const command = (text: string) => {
    const statement = db.prepare(text)
    return () => void statement.run()
  }
  return {
    begin: command("BEGIN IMMEDIATE"),
    commit: command("COMMIT"),
    rollback: command("ROLLBACK"),
    savepoint: command("SAVEPOINT concord_append"),
    rollbackToSavepoint: command("ROLLBACK TO concord_append"),
    releaseSavepoint: command("RELEASE concord_append"),
    inTransaction: () => db.inTransaction
  }
}

/** The backend's statements, on the store's tables. */
const queries = (db: Sqlite.Database, names: Migrations.Tables) => {
  const events = identifier(names.events)
  const streams = identifier(names.streams)
  const columns = "event_id, stream_id, version, type, data, metadata, recorded_at, position"
  return {
    version: db.prepare<[string], number>(`SELECT version FROM ${streams} WHERE stream_id = ?`).pluck(),
    after: db.prepare<[string, number], EventRow>(
      `SELECT ${columns} FROM ${events} WHERE stream_id = ? AND version > ? ORDER BY version`
    ),
    // The excluded types as one JSON array: one statement whatever their number.
    afterExcept: db.prepare<[string, number, string], EventRow>(
      `SELECT ${columns} FROM ${events} WHERE stream_id = ? AND version > ?
        AND type NOT IN (SELECT value FROM json_each(?)) ORDER BY version`
    ),
    storedId: db.prepare<[string], StoredIdRow>(
      `SELECT event_id, stream_id, version, batch_first, batch_last, rebased_over FROM ${events} WHERE event_id = ?`
    ),
    insertEvent: db.prepare<[ReturnType<typeof eventRows>[number]]>(
      `INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first, batch_last,
        rebased_over) VALUES (@stream_id, @version, @event_id, @type, @data, @metadata, @recorded_at, @batch_first,
        @batch_last, @rebased_over)`
    ),
    setVersion: db.prepare<[string, number]>(
      `INSERT INTO ${streams} (stream_id, version) VALUES (?, ?)
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`
    ),
    decode: toRecorded("sqlite")
  }
}

/** Runs the backend's part of an append; what it throws is the driver's. */
const driver = <A>(run: () => A): A => {
  try {
    return run()
  } catch (cause) {
    throw new DriverFailure(cause)
  }
}

/**
 * Stored ids in the order of the unique index on `event_id`, as the `SqlClient` path's `IN` lookup finds them:
 * SQLite compares text as UTF-8 bytes (the ids are well-formed, so that is the order of their code points), not as
 * JavaScript's UTF-16 units.
 */
const inIndexOrder = (found: Array<StoreBackend.StoredId>): ReadonlyArray<StoreBackend.StoredId> =>
  found.length < 2 ? found : found.sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)))

const noStoredIds: ReadonlyArray<StoreBackend.StoredId> = []

const backendOf = (q: ReturnType<typeof queries>, tally: Tally): StoreBackend.SyncBackend => ({
  currentVersion: (streamId) => driver(() => StreamVersion.make(q.version.get(streamId) ?? 0)),
  committedAfter: (streamId, after, except): ReadonlyArray<Conflict.Committed> =>
    driver(() =>
      (except.length === 0 ? q.after.all(streamId, after) : q.afterExcept.all(streamId, after, JSON.stringify(except)))
        .map(q.decode)
    ),
  // One lookup of the unique index per id.
  findIds: (ids) =>
    driver(() => {
      let found: Array<StoreBackend.StoredId> | undefined
      for (const id of ids) {
        const row = q.storedId.get(id)
        if (row !== undefined) (found ??= []).push(toStoredId(row))
      }
      return found === undefined ? noStoredIds : inIndexOrder(found)
    }),
  write: (streamId, records, batch) =>
    driver(() => {
      for (const row of eventRows(records, batch)) {
        tally.written += row.data.length + row.metadata.length
        q.insertEvent.run(row)
      }
      q.setVersion.run(streamId, batch.lastVersion)
    })
})

/** @internal */
export const prepare = (db: Sqlite.Database, names: Migrations.Tables): Statements => {
  const prepared = queries(db, names)
  return { ...transaction(db), backend: (tally) => backendOf(prepared, tally) }
}
