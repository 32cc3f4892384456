/**
 * The fast path of an append: the common append, whose expected version is the stream's current one, written without
 * reading first, in one guarded write that changes nothing when the stream is elsewhere.
 *
 * @internal
 */
import type { EventStore, StoreBackend, StreamId, StreamVersion } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { Missed, uniqueOr, type UniqueViolation } from "./appendFailures.js"
import type * as Deadline from "./deadline.js"
import * as Metrics from "./metrics.js"
import type * as Migrations from "./migrations.js"
import { type Dialect, eventRows, storeError } from "./rows.js"
import * as SqliteTransaction from "./sqliteTransaction.js"

/** @internal */
export const make = (options: {
  readonly sql: SqlClient.SqlClient
  readonly dialect: Dialect
  readonly names: Migrations.Tables
}) => {
  const { dialect, sql } = options
  const events = sql(options.names.events)
  const streams = sql(options.names.streams)

  /**
   * Moves the stream row from `expected` to `last` if it is at `expected` (a missing row counts as version 0),
   * returning a row only if it did. A concurrent writer of the stream waits on the row's lock and then sees the
   * winner's version, so of two writers at the same expected version exactly one advances the row. On PostgreSQL the
   * row also moves only if the stream's last append came from an earlier transaction than this one (see
   * `OutOfOrder`); the full path, in a new transaction, takes over otherwise.
   */
  const advance = (streamId: StreamId.StreamId, expected: number, last: number) =>
    dialect === "pg" ? pgAdvance(streamId, expected, last) : sqliteAdvance(streamId, expected, last)

  const pgAdvance = (streamId: StreamId.StreamId, expected: number, last: number) =>
    expected === 0
      // No lock to skip here: an insert that meets another writer's row (one it holds locked, or has inserted and not
      // yet committed) waits for that writer's transaction to end, inside the statement that commits as it ends. A
      // deadline that passes during that wait answers `mayHaveCommitted: true`, rightly: once the wait ends the
      // statement may still write (the cancel sent when the work is abandoned may not reach it first). Sending the
      // batch again is safe all the same.
      ? sql`INSERT INTO ${streams} (stream_id, version, tx_id) VALUES (${streamId}, ${last}, pg_current_xact_id())
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, tx_id = excluded.tx_id
          WHERE ${streams}.version = 0 AND ${streams}.tx_id <= excluded.tx_id
          RETURNING version`
      // A row another writer has locked is skipped: the statement then writes nothing, and the full path waits for
      // the lock in a transaction, before it writes. So here a lock wait never holds up a statement that commits as
      // it ends, which an append's deadline could only report as one that may have committed.
      : sql`UPDATE ${streams} SET version = ${last}, tx_id = pg_current_xact_id()
          WHERE stream_id = (
            SELECT stream_id FROM ${streams}
            WHERE stream_id = ${streamId} AND version = ${expected} AND tx_id <= pg_current_xact_id()
            FOR NO KEY UPDATE SKIP LOCKED
          ) AND version = ${expected}
          RETURNING version`

  const sqliteAdvance = (streamId: StreamId.StreamId, expected: number, last: number) =>
    expected === 0
      ? sql`INSERT INTO ${streams} (stream_id, version) VALUES (${streamId}, ${last})
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version WHERE ${streams}.version = 0
          RETURNING version`
      : sql`UPDATE ${streams} SET version = ${last} WHERE stream_id = ${streamId} AND version = ${expected}
          RETURNING version`

  /**
   * PostgreSQL: one autocommit statement inserting the events only if the stream row advanced (the parameters are
   * typed, as `VALUES` in a subquery would otherwise make them text). A commit may have begun as it is sent: it
   * commits as it ends.
   */
  const pgWrite = (
    streamId: StreamId.StreamId,
    expected: number,
    records: ReadonlyArray<StoreBackend.PendingEvent>,
    batch: EventStore.AppendResult,
    commitment: Deadline.Commitment
  ) =>
    Effect.zipRight(
      Effect.sync(() => (commitment.mayHaveCommitted = true)),
      sql<{ version: number }>`WITH advanced AS (${advance(streamId, expected, batch.lastVersion)}),
        appended AS (
          INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first,
            batch_last, rebased_over)
          SELECT * FROM (VALUES ${
        sql.csv(
          eventRows(records, batch).map((row) =>
            sql`(${row.stream_id}::text, ${row.version}::integer, ${row.event_id}::text, ${row.type}::text,
            ${row.data}::jsonb, ${row.metadata}::jsonb, ${row.recorded_at}::timestamptz,
            ${row.batch_first}::integer, ${row.batch_last}::integer, ${row.rebased_over}::integer)`
          )
        )
      }) AS batch WHERE EXISTS (SELECT FROM advanced))
        SELECT version FROM advanced`
    ).pipe(
      Effect.filterOrFail((rows) => rows.length > 0, () => new Missed())
    )

  /**
   * SQLite: the guarded stream write, then the events, under the write lock. A commit may begin once the events are
   * written, right before `COMMIT`. The wait for the lock is recorded (see Metrics.lockWait): the fast path runs
   * outside callers' transactions only, so `BEGIN IMMEDIATE` is this append's own.
   */
  const sqliteWrite = (
    streamId: StreamId.StreamId,
    expected: number,
    records: ReadonlyArray<StoreBackend.PendingEvent>,
    batch: EventStore.AppendResult,
    commitment: Deadline.Commitment
  ) =>
    Effect.suspend(() => {
      const start = performance.now()
      return SqliteTransaction.immediate(
        sql,
        Effect.sync(() => Metrics.waited(Metrics.sqlite, start)).pipe(
          Effect.zipRight(advance(streamId, expected, batch.lastVersion)),
          Effect.filterOrFail((rows) => rows.length > 0, () => new Missed()),
          Effect.zipRight(sql`INSERT INTO ${events} ${sql.insert(eventRows(records, batch))}`),
          Effect.tap(() => Effect.sync(() => (commitment.mayHaveCommitted = true)))
        )
      )
    })

  /**
   * The backend of the fast path: it assumes the stream is at the expected version and that no event id of the
   * batch is stored, so the shared append validates and builds the batch without reading. The write checks both
   * assumptions (the guarded stream row, the unique event ids) and changes nothing if either is false.
   *
   * `commitment` says when a commit may have begun (see Deadline.Commitment), until the database's answer that the
   * write changed nothing.
   */
  const optimistic = (
    streamId: StreamId.StreamId,
    expected: StreamVersion.StreamVersion,
    commitment: Deadline.Commitment
  ): StoreBackend.Backend<Missed | UniqueViolation> => {
    const failed = storeError(`append to stream ${streamId}`)
    const write = dialect === "pg" ? pgWrite : sqliteWrite
    return {
      currentVersion: Effect.succeed(expected),
      // Read only when the expected version is behind the current one, which is assumed not to be.
      committedAfter: () => Effect.dieMessage("the fast path reads no committed events"),
      findIds: () => Effect.succeed([]),
      write: (records, batch) =>
        write(streamId, expected, records, batch, commitment).pipe(
          Effect.catchTag("SqlError", (error) => Effect.fail(uniqueOr(failed)(error))),
          // The database answered that the statement wrote nothing: the full path, which runs next, starts afresh.
          Effect.tapError((error) =>
            error._tag === "Missed" || error._tag === "UniqueViolation"
              ? Effect.sync(() => (commitment.mayHaveCommitted = false))
              : Effect.void
          )
        )
    }
  }

  return { optimistic } as const
}
