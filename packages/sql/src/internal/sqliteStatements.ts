/**
 * The statements of SQLite's group commit, prepared once on the writer's own connection, and the synchronous backend
 * the shared append runs against under its write lock. The rows are those the `SqlClient` path writes (`eventRows`:
 * JSON text, ISO time), and what it reads back decodes as the `SqlClient` path's rows do.
 *
 * @internal
 */
import { Event, StreamVersion } from "@concord/core"
import type { Conflict, StoreBackend, StreamId } from "@concord/core"
import type Sqlite from "better-sqlite3"
import type * as Migrations from "./migrations.js"
import { type EventRow, eventRows, toRecorded } from "./rows.js"

/** A table's name as an SQL identifier, as `sql(name)` quotes it. */
const identifier = (name: string) => `"${name.replaceAll("\"", "\"\"")}"`

interface StoredIdRow {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly batch_first: number
  readonly batch_last: number
  readonly rebased_over: number
}

const toStoredId = (row: StoredIdRow): StoreBackend.StoredId => ({
  id: Event.EventId.make(row.event_id),
  version: StreamVersion.make(row.version),
  batch: {
    streamId: row.stream_id as StreamId.StreamId,
    firstVersion: StreamVersion.make(row.batch_first),
    lastVersion: StreamVersion.make(row.batch_last),
    rebasedOver: row.rebased_over
  }
})

const noStoredIds: ReadonlyArray<StoreBackend.StoredId> = []

/**
 * The writer's statements. `backend` throws what the driver throws (a full disk, a constraint a trigger of the
 * application's raised); the group commit rolls the append's savepoint back then. `written` counts the characters of
 * JSON the backend has written, by which a group knows when it is large enough.
 *
 * @internal
 */
export interface Statements {
  readonly begin: () => void
  readonly commit: () => void
  readonly rollback: () => void
  readonly savepoint: () => void
  readonly rollbackToSavepoint: () => void
  readonly releaseSavepoint: () => void
  readonly backend: StoreBackend.SyncBackend
  written: number
}

/** @internal */
export const prepare = (db: Sqlite.Database, names: Migrations.Tables): Statements => {
  const events = identifier(names.events)
  const streams = identifier(names.streams)
  const command = (text: string) => {
    const statement = db.prepare(text)
    return () => void statement.run()
  }
  const columns = "event_id, stream_id, version, type, data, metadata, recorded_at, position"
  const version = db.prepare<[string], number>(`SELECT version FROM ${streams} WHERE stream_id = ?`).pluck()
  const after = db.prepare<[string, number], EventRow>(
    `SELECT ${columns} FROM ${events} WHERE stream_id = ? AND version > ? ORDER BY version`
  )
  // The excluded types as one JSON array: one statement whatever their number.
  const afterExcept = db.prepare<[string, number, string], EventRow>(
    `SELECT ${columns} FROM ${events} WHERE stream_id = ? AND version > ?
      AND type NOT IN (SELECT value FROM json_each(?)) ORDER BY version`
  )
  const storedId = db.prepare<[string], StoredIdRow>(
    `SELECT event_id, stream_id, version, batch_first, batch_last, rebased_over FROM ${events} WHERE event_id = ?`
  )
  const insertEvent = db.prepare<[ReturnType<typeof eventRows>[number]]>(
    `INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first, batch_last,
      rebased_over) VALUES (@stream_id, @version, @event_id, @type, @data, @metadata, @recorded_at, @batch_first,
      @batch_last, @rebased_over)`
  )
  const setVersion = db.prepare<[string, number]>(
    `INSERT INTO ${streams} (stream_id, version) VALUES (?, ?)
      ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`
  )

  const statements: Statements = {
    begin: command("BEGIN IMMEDIATE"),
    commit: command("COMMIT"),
    rollback: command("ROLLBACK"),
    savepoint: command("SAVEPOINT concord_append"),
    rollbackToSavepoint: command("ROLLBACK TO concord_append"),
    releaseSavepoint: command("RELEASE concord_append"),
    written: 0,
    backend: {
      currentVersion: (streamId) => StreamVersion.make(version.get(streamId) ?? 0),
      committedAfter: (streamId, after_, except): ReadonlyArray<Conflict.Committed> => {
        const rows = except.length === 0
          ? after.all(streamId, after_)
          : afterExcept.all(streamId, after_, JSON.stringify(except))
        return rows.map(toRecorded("sqlite"))
      },
      // One lookup of the unique index per id; the ids found, in the batch's order.
      findIds: (ids) => {
        let found: Array<StoreBackend.StoredId> | undefined
        for (const id of ids) {
          const row = storedId.get(id)
          if (row !== undefined) (found ??= []).push(toStoredId(row))
        }
        return found ?? noStoredIds
      },
      write: (streamId, records, batch) => {
        for (const row of eventRows(records, batch)) {
          statements.written += row.data.length + row.metadata.length
          insertEvent.run(row)
        }
        setVersion.run(streamId, batch.lastVersion)
      }
    }
  }
  return statements
}
