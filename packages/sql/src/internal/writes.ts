import { Event, StreamVersion } from "@concord/core"
import type { EventStore, StoreBackend, StreamId } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Deadline from "./deadline.js"
import type * as Migrations from "./migrations.js"
import { decodeRows, type Dialect, eventColumns, type EventRow, storeError, toRecorded } from "./rows.js"
import * as SqliteTransaction from "./sqliteTransaction.js"
import * as Transaction from "./transaction.js"

interface StoredIdRow {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly batch_first: number
  readonly batch_last: number
  readonly rebased_over: number
}

/** A unique constraint refused a write: another writer won a race the lock should have prevented. */
const isUniqueViolation = (error: SqlError): boolean => {
  const code = (error.cause as { code?: unknown } | undefined)?.code
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY"
}

/** @internal */
export class UniqueViolation extends Data.TaggedError("UniqueViolation")<{ readonly cause: SqlError }> {}

/** The fast path did not apply: the stream is not at the expected version. Nothing was written. */
export class Missed extends Data.TaggedError("Missed") {}

/**
 * PostgreSQL: this transaction took its id before the transaction of the stream's last append did, so the global log
 * (ordered by transaction id) would put this batch before the stream's earlier versions. Nothing was written; a new
 * transaction, whose id is later, can append.
 *
 * @internal
 */
export class OutOfOrder extends Data.TaggedError("OutOfOrder")<{ readonly streamId: StreamId.StreamId }> {
  override get message() {
    return `the transaction appending to stream ${this.streamId} took its id before the stream's last append ` +
      "committed; the global log orders events by transaction id, so the batch would come before the stream's earlier " +
      "versions. Nothing was written: retry the transaction"
  }
}

const toStoredId = (row: StoredIdRow): StoreBackend.StoredId => ({
  id: Event.EventId.make(row.event_id),
  version: StreamVersion.make(Number(row.version)),
  batch: {
    streamId: row.stream_id as StreamId.StreamId,
    firstVersion: StreamVersion.make(Number(row.batch_first)),
    lastVersion: StreamVersion.make(Number(row.batch_last)),
    rebasedOver: Number(row.rebased_over)
  }
})

const versionOf = (
  rows: ReadonlyArray<{ readonly version: number }>,
  failed: (cause: unknown) => EventStore.StoreError
) => Effect.try({ try: () => StreamVersion.make(Number(rows[0]?.version ?? 0)), catch: failed })

const eventRows = (records: ReadonlyArray<StoreBackend.PendingEvent>, batch: EventStore.AppendResult) =>
  records.map((record) => ({
    stream_id: record.streamId,
    version: record.version,
    event_id: record.id,
    type: record.type,
    data: JSON.stringify(record.data),
    metadata: JSON.stringify(record.metadata),
    recorded_at: record.recordedAt.toISOString(),
    batch_first: batch.firstVersion,
    batch_last: batch.lastVersion,
    rebased_over: batch.rebasedOver
  }))

/**
 * The store's two ways of appending, over one table prefix: the full path (lock the stream, then the shared flow)
 * and the fast path (one guarded write without reading).
 *
 * @internal
 */
export const make = (options: {
  readonly sql: SqlClient.SqlClient
  readonly dialect: Dialect
  readonly names: Migrations.Tables
  readonly lockTimeout: number | undefined
  /**
   * The append deadline (milliseconds). PostgreSQL: the server's bound on each statement of an append's transaction
   * and on a pause inside it, so that it ends a transaction whose client gave up (a partition, a frozen client).
   */
  readonly appendTimeout: number
  /** Run after the events are written inside a caller's transaction (PostgreSQL: a NOTIFY sent at its commit). */
  readonly writtenInCallerTransaction: Effect.Effect<void, SqlError>
}) => {
  const { dialect, lockTimeout, sql } = options
  const events = sql(options.names.events)
  const streams = sql(options.names.streams)
  const columns = eventColumns(sql, dialect)
  /**
   * PostgreSQL: the opening of an append's own transaction, in one round trip: the server ends a statement of it, or a
   * pause in it, that outlasts the append's deadline, so that a transaction its client abandoned (the deadline passed
   * during a partition or a freeze) holds the stream's lock no longer. The values are validated integers.
   */
  const pgBegin = [
    "BEGIN",
    `SET LOCAL statement_timeout = ${options.appendTimeout}`,
    `SET LOCAL idle_in_transaction_session_timeout = ${options.appendTimeout}`,
    ...(lockTimeout === undefined ? [] : [`SET LOCAL lock_timeout = ${lockTimeout}`])
  ].join("; ")
  const uniqueOr = (failed: (cause: unknown) => EventStore.StoreError) => (error: SqlError) =>
    isUniqueViolation(error) ? new UniqueViolation({ cause: error }) : failed(error)

  /**
   * The per-stream critical section. PostgreSQL locks the stream's row (creating it if need be), so writers of other
   * streams go on in parallel, and reads whether the stream's last append came from an earlier transaction than this
   * one; SQLite takes its write lock before the first read (`BEGIN IMMEDIATE`).
   */
  const lockedTransaction = <A, E, R>(
    streamId: StreamId.StreamId,
    body: (current: StreamVersion.StreamVersion, ordered: boolean) => Effect.Effect<A, E, R>
  ) => {
    const failed = storeError(`append to stream ${streamId}`)
    if (dialect === "sqlite") {
      return SqliteTransaction.immediate(
        sql,
        sql<{ version: number }>`SELECT version FROM ${streams} WHERE stream_id = ${streamId}`.pipe(
          Effect.flatMap((rows) => versionOf(rows, failed)),
          Effect.flatMap((current) => body(current, true))
        )
      )
    }
    // One round trip takes the stream row's lock (creating the row if need be) and reads its version.
    const locked = sql<{ version: number; ordered: boolean }>`INSERT INTO ${streams} (stream_id, version)
      VALUES (${streamId}, 0) ON CONFLICT (stream_id) DO UPDATE SET version = ${streams}.version
      RETURNING version, tx_id <= pg_current_xact_id() AS ordered`.pipe(
      Effect.flatMap((rows) =>
        Effect.flatMap(versionOf(rows, failed), (current) => body(current, rows[0]?.ordered !== false))
      )
    )
    return Effect.flatMap(
      Effect.serviceOption(SqlClient.TransactionConnection),
      (outer) =>
        Option.isSome(outer)
          // A savepoint of the caller's transaction, whose settings are the caller's, but for the lock timeout.
          ? sql.withTransaction(
            lockTimeout === undefined
              ? locked
              // SET takes no bound parameters; the value is a validated integer.
              : Effect.zipRight(sql.unsafe(`SET LOCAL lock_timeout = ${lockTimeout}`), locked)
          )
          : Transaction.own(sql, pgBegin, locked)
    )
  }

  /** The backend of the full path, inside {@link lockedTransaction}. */
  const backend = (
    streamId: StreamId.StreamId,
    current: StreamVersion.StreamVersion,
    ordered: boolean,
    inCallerTransaction: boolean
  ): StoreBackend.Backend<UniqueViolation | OutOfOrder> => {
    const failed = storeError(`append to stream ${streamId}`)
    const write = (records: ReadonlyArray<StoreBackend.PendingEvent>, batch: EventStore.AppendResult) =>
      dialect === "pg"
        // The stream row exists (the lock made it): the events and the new version go in one statement.
        ? sql`WITH appended AS (INSERT INTO ${events} ${sql.insert(eventRows(records, batch))} RETURNING 1)
            UPDATE ${streams} SET version = ${batch.lastVersion}, tx_id = pg_current_xact_id()
            WHERE stream_id = ${streamId}`
        : Effect.zipRight(
          sql`INSERT INTO ${events} ${sql.insert(eventRows(records, batch))}`,
          sql`INSERT INTO ${streams} (stream_id, version) VALUES (${streamId}, ${batch.lastVersion})
            ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`
        )
    return {
      currentVersion: Effect.succeed(current),
      committedAfter: (version, except) =>
        sql<EventRow>`SELECT ${columns} FROM ${events}
          WHERE stream_id = ${streamId} AND version > ${version}
          ${except.length === 0 ? sql`` : sql`AND NOT ${sql.in("type", except)}`}
          ORDER BY version`.pipe(
          Effect.mapError(failed),
          Effect.flatMap(decodeRows(toRecorded(dialect), failed))
        ),
      findIds: (ids) =>
        sql<StoredIdRow>`SELECT event_id, stream_id, version, batch_first, batch_last, rebased_over FROM ${events}
          WHERE ${sql.in("event_id", ids)}`.pipe(
          Effect.mapError(failed),
          Effect.flatMap(decodeRows(toStoredId, failed))
        ),
      write: (records, batch) =>
        !ordered
          ? Effect.fail(new OutOfOrder({ streamId }))
          : (inCallerTransaction ? Effect.zipRight(write(records, batch), options.writtenInCallerTransaction) : write(
            records,
            batch
          )).pipe(Effect.mapError(uniqueOr(failed)))
    }
  }

  /**
   * Moves the stream row from `expected` to `last` if it is at `expected` (a missing row counts as version 0),
   * returning a row only if it did. A concurrent writer of the stream waits on the row's lock and then sees the
   * winner's version, so of two writers at the same expected version exactly one advances the row. On PostgreSQL the
   * row also moves only if the stream's last append came from an earlier transaction than this one (see
   * {@link OutOfOrder}); the full path, in a new transaction, takes over otherwise.
   */
  const advance = (streamId: StreamId.StreamId, expected: number, last: number) =>
    dialect === "pg"
      ? expected === 0
        ? sql`INSERT INTO ${streams} (stream_id, version, tx_id) VALUES (${streamId}, ${last}, pg_current_xact_id())
            ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, tx_id = excluded.tx_id
            WHERE ${streams}.version = 0 AND ${streams}.tx_id <= excluded.tx_id
            RETURNING version`
        // A row another writer has locked is skipped: the statement then writes nothing, and the full path waits for
        // the lock in a transaction, before it writes. So a lock wait never holds up a statement that commits as it
        // ends, which an append's deadline could only report as one that may have committed.
        : sql`UPDATE ${streams} SET version = ${last}, tx_id = pg_current_xact_id()
            WHERE stream_id = (
              SELECT stream_id FROM ${streams}
              WHERE stream_id = ${streamId} AND version = ${expected} AND tx_id <= pg_current_xact_id()
              FOR NO KEY UPDATE SKIP LOCKED
            ) AND version = ${expected}
            RETURNING version`
      : expected === 0
      ? sql`INSERT INTO ${streams} (stream_id, version) VALUES (${streamId}, ${last})
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version WHERE ${streams}.version = 0
          RETURNING version`
      : sql`UPDATE ${streams} SET version = ${last} WHERE stream_id = ${streamId} AND version = ${expected}
          RETURNING version`

  /**
   * The common append, whose expected version is the stream's current one, written without reading first.
   * PostgreSQL: one autocommit statement inserting the events only if the stream row advanced (the parameters are
   * typed, as `VALUES` in a subquery would otherwise make them text). SQLite: the guarded stream write, then the
   * events, under the write lock.
   *
   * `commitment` says when a commit may have begun (see Deadline.Commitment): on PostgreSQL as the statement is sent,
   * which commits as it ends, until the answer that it wrote nothing; on SQLite once the events are written, right
   * before `COMMIT`.
   */
  const optimisticWrite = (
    streamId: StreamId.StreamId,
    expected: number,
    records: ReadonlyArray<StoreBackend.PendingEvent>,
    batch: EventStore.AppendResult,
    commitment: Deadline.Commitment
  ) =>
    dialect === "pg"
      ? Effect.zipRight(
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
      : SqliteTransaction.immediate(
        sql,
        advance(streamId, expected, batch.lastVersion).pipe(
          Effect.filterOrFail((rows) => rows.length > 0, () => new Missed()),
          Effect.zipRight(sql`INSERT INTO ${events} ${sql.insert(eventRows(records, batch))}`),
          Effect.tap(() => Effect.sync(() => (commitment.mayHaveCommitted = true)))
        )
      )

  /**
   * The backend of the fast path: it assumes the stream is at the expected version and that no event id of the
   * batch is stored, so the shared append validates and builds the batch without reading. The write checks both
   * assumptions (the guarded stream row, the unique event ids) and changes nothing if either is false.
   */
  const optimistic = (
    streamId: StreamId.StreamId,
    expected: StreamVersion.StreamVersion,
    commitment: Deadline.Commitment
  ): StoreBackend.Backend<Missed | UniqueViolation> => {
    const failed = storeError(`append to stream ${streamId}`)
    return {
      currentVersion: Effect.succeed(expected),
      // Read only when the expected version is behind the current one, which is assumed not to be.
      committedAfter: () => Effect.dieMessage("the fast path reads no committed events"),
      findIds: () => Effect.succeed([]),
      write: (records, batch) =>
        optimisticWrite(streamId, expected, records, batch, commitment).pipe(
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

  return { lockedTransaction, backend, optimistic } as const
}
