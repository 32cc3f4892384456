/**
 * Event stores over `@effect/sql`: the store needs only the abstract `SqlClient`, so the application picks SQLite
 * (embedded, one machine) or PostgreSQL (many processes and machines) by the client Layer it provides. The ready-made
 * Layers on either database are entry points of their own, so that an application installs only its driver:
 * `SqliteEventStore` from `@concord/sql/sqlite`, `PgEventStore` from `@concord/sql/pg`.
 *
 * @since 0.1.0
 */
import { EventStore } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as internalMetrics from "./internal/metrics.js"
import * as internal from "./internal/sqlStore.js"

/**
 * Options shared by {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends EventStore.Options {
  /** Prefix of the store's tables (default `concord_`): `<prefix>events`, `<prefix>streams`, `<prefix>migrations`. */
  readonly tablePrefix?: string | undefined
  /**
   * PostgreSQL: how long an append waits for another writer of its stream before failing with a StoreError (a whole
   * number of milliseconds; default: no limit). It bounds each wait for a lock, not the append, which may wait more
   * than once: `appendTimeoutMillis` bounds the whole.
   */
  readonly lockTimeoutMillis?: number | undefined
  /**
   * The deadline of a whole append, from when the store takes it up to its answer (a whole number of milliseconds
   * from 1 to 2^31 - 1). Default: `lockTimeoutMillis` + 1000 when a lock timeout is set (a single lock wait then fails
   * first, with a `StoreError`; only a chain of waits meets the deadline), else 10 000; `SqliteEventStore.layer`'s
   * default is its `busyTimeoutMillis` + 1000.
   *
   * An append that misses it fails with `AppendTimeout`, at the deadline, even on a database that no longer answers:
   * the store abandons the work rather than wait for it, and the work is rolled back (or ends) in the background when
   * the database lets it. `mayHaveCommitted` is `false` only when the deadline came before the store began to commit
   * (before `COMMIT`, or, on PostgreSQL, before the commit group carrying it was sent): nothing was written, and
   * nothing will be. When it is `true` the batch may or may not be stored, now or once the database answers. Either
   * way, sending the same batch again with the same event ids is safe: a stored batch is recognised and answered with
   * its original result, never stored twice.
   *
   * PostgreSQL: the append's own transaction also tells the server to end any of its statements, or a pause inside
   * it, that outlasts the deadline (`SET LOCAL statement_timeout` and `idle_in_transaction_session_timeout`), so that
   * a transaction its client abandoned holds the stream's lock no longer. SQLite: statements run synchronously in
   * the process, so the deadline can end an append only between statements or while it waits for the process's
   * connection (with `SqliteEventStore.layer`: while it waits in the queue for its commit group, and then
   * `mayHaveCommitted` is `false`; a group, once begun, runs to its end); a wait for another process's write lock
   * blocks for up to the busy timeout whatever the deadline.
   * Inside a transaction of the caller's, the append runs on the caller's connection and the caller's transaction
   * bounds it: the deadline does not apply.
   *
   * @since 0.3.0
   */
  readonly appendTimeoutMillis?: number | undefined
  /**
   * The client's bound on each statement that reads — a page of `read` or `readAll`, `version`, a subscriber's check
   * of the end of the log — and on the store's notifications (a whole number of milliseconds from 1 to 2^31 - 1;
   * default 30 000). A statement that misses it fails with a `StoreError` whose cause says it "timed out after N ms",
   * even on a database that no longer answers. `PgEventStore.layer` also makes it the server's `statement_timeout`
   * and `idle_in_transaction_session_timeout` on every pooled connection, so no statement there, and no pause inside
   * a transaction there, lasts longer (the store's migrations are exempt). Inside a transaction of your own
   * (`sql.withTransaction`), a read runs on your connection without this bound, as an append does without its own:
   * abandoned there, it would leave your transaction in a state nobody knows; your transaction bounds it.
   *
   * @since 0.3.0
   */
  readonly statementTimeoutMillis?: number | undefined
  /**
   * How often the store looks for commits its subscribers at the end of the log were not told of (a whole number of
   * milliseconds, at least 1). This process's own commits wake its subscribers at once; other processes' are found
   * by looking, one check for all of the store's waiting subscribers, and none while no one waits:
   *
   * - SQLite: every interval, the store checks whether another connection changed the file (`PRAGMA data_version`,
   *   which costs no read of the tables), and wakes its subscribers when it did. Default 100 ms.
   * - PostgreSQL: every interval, the store reads the end of the visible log (one row, by the index) and wakes its
   *   subscribers when it moved. `PgEventStore.layer` also listens for the
   *   stores' notifications (`LISTEN`/`NOTIFY`), so that this only covers what a notification cannot announce (a
   *   commit of another program that was holding readers back, a notification lost with its connection); its
   *   default is 1000 ms. A store made here over another PostgreSQL client layer does not listen: default 100 ms.
   *
   * @since 0.2.0
   */
  readonly pollIntervalMillis?: number | undefined
}

/**
 * A store over the `SqlClient` in context; runs the migrations first. Options out of range fail with a
 * `StoreError` naming the option, before anything touches the database.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options?: Options
): Effect.Effect<EventStore.Service, EventStore.StoreError, SqlClient.SqlClient> => internal.make(options)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<EventStore.EventStore, EventStore.StoreError, SqlClient.SqlClient> =>
  Layer.effect(EventStore.EventStore, make(options))

/**
 * The SQL stores' own metrics, kept in Effect's global metric registry (so `Metric.snapshot`, a Prometheus endpoint
 * or an OpenTelemetry exporter sees them), each tagged `store`: `sqlite` or `postgres`.
 *
 * - `commitGroupSize`, `concord_commit_group_size`: the appends each group commit carried, recorded once per group
 *   transaction that committed (boundaries 1, 2, 4, … 256). SQLite's group committer records each of its
 *   transactions (an append run again alone after its group's transaction failed counts as a group of 1);
 *   PostgreSQL records each group statement that returned.
 * - `lockWait`, `concord_store_lock_wait_seconds`: how long an append waited for the right to write.
 *   - SQLite, group commit (`SqliteEventStore.layer` on a file): from the append being queued until its group's
 *     `BEGIN IMMEDIATE` returned (the queue, the connection, another process's write lock), once per append taken
 *     into a group.
 *   - SQLite otherwise (an in-memory store, a store over a client of your own): from the start of each write
 *     transaction of the append until its `BEGIN IMMEDIATE` returned (the connection, another process's lock). An
 *     append the fast path missed opens two. Not recorded inside a transaction of the caller's, whose lock it is.
 *   - PostgreSQL, group commit (the common append): from the append's write being queued until its group's
 *     statement was sent (the queue, a free committer, a connection). Inside the statement, rows another writer
 *     holds are skipped rather than waited for (the append then takes the full path), and any other lock wait is
 *     bounded (20 ms); such a wait is part of the statement and not recorded.
 *   - PostgreSQL, full path: from the start of the append's transaction (or savepoint of the caller's) until the
 *     statement that locks the stream's row returned (a pooled connection, `BEGIN`, the row lock's wait, with their
 *     round trips).
 *
 * The updates are made synchronously, without an effect: tags a fiber adds (`Effect.tagMetrics`) do not apply.
 *
 * @since 0.4.0
 * @category metrics
 */
export const metrics: {
  readonly commitGroupSize: Metric.Metric.Histogram<number>
  readonly lockWait: Metric.Metric.Histogram<number>
} = { commitGroupSize: internalMetrics.commitGroupSize, lockWait: internalMetrics.lockWait }
