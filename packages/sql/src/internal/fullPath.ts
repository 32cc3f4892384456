/**
 * The full path of an append: the stream locked in a transaction, then the shared flow of `StoreBackend.append`
 * against what the transaction reads. Every append that is not the common case takes it, and so does one the fast
 * path missed.
 *
 * @internal
 */
import { StreamVersion } from "@concord/core"
import type { EventStore, StoreBackend, StreamId } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { OutOfOrder, uniqueOr, type UniqueViolation } from "./appendFailures.js"
import * as Metrics from "./metrics.js"
import type * as Migrations from "./migrations.js"
import {
  decodeRows,
  type Dialect,
  eventColumns,
  type EventRow,
  eventRows,
  type StoredIdRow,
  storeError,
  toRecorded,
  toStoredId
} from "./rows.js"
import * as SqliteTransaction from "./sqliteTransaction.js"
import * as Transaction from "./transaction.js"

const versionOf = (
  rows: ReadonlyArray<{ readonly version: number }>,
  failed: (cause: unknown) => EventStore.StoreError
) => Effect.try({ try: () => StreamVersion.make(Number(rows[0]?.version ?? 0)), catch: failed })

/** @internal */
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

  /**
   * SQLite: the write lock taken by `BEGIN IMMEDIATE`, its wait recorded (see Metrics.lockWait) from `start`: the
   * connection's one permit and the busy wait for another process's lock. Inside a caller's transaction the body runs
   * in a savepoint, and whatever lock wait there was is the caller's, unmeasured.
   */
  const sqliteLocked = <A, E, R>(start: number, body: Effect.Effect<A, E, R>) =>
    Effect.flatMap(
      Effect.serviceOption(SqlClient.TransactionConnection),
      (outer) =>
        SqliteTransaction.immediate(
          sql,
          Option.isSome(outer) ? body : Effect.zipRight(Effect.sync(() => Metrics.waited(Metrics.sqlite, start)), body)
        )
    )

  /**
   * The per-stream critical section. PostgreSQL locks the stream's row (creating it if need be), so writers of other
   * streams go on in parallel, and reads whether the stream's last append came from an earlier transaction than this
   * one; SQLite takes its write lock before the first read (`BEGIN IMMEDIATE`). The wait for the lock is recorded from
   * the start of the transaction (see Metrics.lockWait).
   */
  const lockedTransaction = <A, E, R>(
    streamId: StreamId.StreamId,
    body: (current: StreamVersion.StreamVersion, ordered: boolean) => Effect.Effect<A, E, R>
  ) => Effect.suspend(() => lockedFrom(performance.now(), streamId, body))

  const lockedFrom = <A, E, R>(
    start: number,
    streamId: StreamId.StreamId,
    body: (current: StreamVersion.StreamVersion, ordered: boolean) => Effect.Effect<A, E, R>
  ) => {
    const failed = storeError(`append to stream ${streamId}`)
    if (dialect === "sqlite") {
      return sqliteLocked(
        start,
        sql<{ version: number }>`SELECT version FROM ${streams} WHERE stream_id = ${streamId}`.pipe(
          Effect.flatMap((rows) => versionOf(rows, failed)),
          Effect.flatMap((current) => body(current, true))
        )
      )
    }
    // One round trip takes the stream row's lock (creating the row if need be) and reads its version: the lock wait
    // ends as it returns.
    const locked = sql<{ version: number; ordered: boolean }>`INSERT INTO ${streams} (stream_id, version)
      VALUES (${streamId}, 0) ON CONFLICT (stream_id) DO UPDATE SET version = ${streams}.version
      RETURNING version, tx_id <= pg_current_xact_id() AS ordered`.pipe(
      Effect.flatMap((rows) => {
        Metrics.waited(Metrics.postgres, start)
        return Effect.flatMap(versionOf(rows, failed), (current) => body(current, rows[0]?.ordered !== false))
      })
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

  return { lockedTransaction, backend } as const
}
