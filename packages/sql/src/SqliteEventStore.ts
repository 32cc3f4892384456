/**
 * The event store on a SQLite file, the embedded default: one machine, any number of processes sharing the file.
 * Imported from `@concord/sql/sqlite`, so that only an application on SQLite needs `@effect/sql-sqlite-node`.
 *
 * @since 0.1.0
 */
import type { Checkpoints } from "@concord/core"
import { EventStore } from "@concord/core"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internalOptions from "./internal/options.js"
import * as SqliteStore from "./internal/sqliteStore.js"
import * as SqliteWriter from "./internal/sqliteWriter.js"
import * as SqlCheckpoints from "./SqlCheckpoints.js"
import type * as SqlEventStore from "./SqlEventStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends SqlEventStore.Options {
  readonly filename: string
  /**
   * How long a writer waits for another process's write lock before failing (whole milliseconds; default 10 s). The
   * wait blocks the process's thread (SQLite runs in it), so no deadline ends it sooner; the default
   * `appendTimeoutMillis` is a second longer.
   */
  readonly busyTimeoutMillis?: number | undefined
  /**
   * What an acknowledged append survives (SQLite's `PRAGMA synchronous`, on every connection of the store):
   *
   * - `"full"` (the default): each commit is synced to the disk (the write-ahead log, `fsync`) before its appends are
   *   acknowledged, so an acknowledged append survives the process's crash, the operating system's and a power loss
   *   (as far as the disk keeps what it reported synced). The appends that arrive together share one commit and one
   *   sync (group commit).
   * - `"normal"`: the write-ahead log is synced only at checkpoints, not at each commit. An acknowledged append
   *   survives the process's crash (its writes are in the operating system's hands), but an operating system crash or
   *   a power loss can lose the appends acknowledged since the last checkpoint; the file stays consistent, without them.
   *
   * Any other value is a `StoreError` naming the option.
   *
   * @since 0.3.0
   */
  readonly synchronous?: "full" | "normal" | undefined
}

/**
 * The SQLite client {@link layer} stores through: the file opened in WAL mode with `synchronous` as the options say
 * (`FULL` by default), the busy timeout and foreign keys on. A file that cannot be opened (a missing directory, not a database) is a `StoreError`
 * naming the file, never a defect.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options: Options
): Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, EventStore.StoreError> =>
  Layer.unwrapEffect(Effect.zipWith(
    internalOptions.millis("busyTimeoutMillis", options.busyTimeoutMillis ?? 10_000),
    internalOptions.oneOf("synchronous", options.synchronous, ["full", "normal"]),
    (busyTimeout, synchronous) =>
      Layer.effectDiscard(Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        // A PRAGMA takes no bound parameters; the values are a validated integer and a fixed word.
        yield* sql.unsafe(`PRAGMA busy_timeout = ${busyTimeout}`)
        yield* sql.unsafe(SqliteWriter.synchronousPragma(synchronous))
        yield* sql`PRAGMA foreign_keys = ON`
      })).pipe(
        Layer.provideMerge(SqliteClient.layer({ filename: options.filename })),
        // better-sqlite3 throws when it opens the file, which the client turns into a defect.
        Layer.catchAllCause((cause) =>
          Layer.fail(
            new EventStore.StoreError({
              operation: `open the SQLite file ${options.filename}`,
              cause: Cause.squash(cause)
            })
          )
        )
      )
  ))

/**
 * A store on a SQLite file, in WAL mode with `synchronous` as the options say (`FULL` by default: an acknowledged
 * append survives a power loss), a busy timeout and foreign keys on (see {@link layerClient}). Many processes may share
 * the file.
 *
 * Appends (outside transactions of the caller's) are committed in groups: those that arrive while the store is busy
 * share one transaction and one sync of the disk, each in a savepoint of its own, so that each keeps its own result or
 * error, and a lone append waits for no company. They are written through a second connection to the file, without
 * the `SqlClient`'s per-statement cost; an append inside a transaction of the caller's (`sql.withTransaction`) runs on
 * the caller's connection, in that transaction. A file of one connection's own (`:memory:`) has no second connection:
 * its appends go through the `SqlClient` one at a time.
 *
 * The read side: `readAll` and `subscribe` follow the global log in position order, which on SQLite (one writer at a
 * time) is the order of commits. This process's commits wake its subscribers at once; a subscriber waiting at the end
 * of the log checks every `pollIntervalMillis` (default 100 ms) whether another process changed the file (`PRAGMA
 * data_version`, no read of the tables), and reads when it did.
 *
 * Deadlines: an append fails with `AppendTimeout` after `appendTimeoutMillis` (default: the busy timeout + 1 s), and a
 * read with a `StoreError` after `statementTimeoutMillis` (default 30 s), but SQLite works synchronously in the
 * process: a statement, a group's commit, and a wait for another process's write lock (up to `busyTimeoutMillis`),
 * run to their end first. What a deadline ends is an append's wait for its group (behind a long transaction of
 * another fiber on the store's connection, say) and a read's wait for the connection.
 *
 * It also provides the consumers' `Checkpoints` in the same file (`SqlCheckpoints`, for `Consumer.run`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<EventStore.EventStore | Checkpoints.Checkpoints, EventStore.StoreError> =>
  // The consumers' checkpoints in the same file, after the store (whose migrations create their table).
  SqlCheckpoints.layer({ tablePrefix: options.tablePrefix, statementTimeoutMillis: options.statementTimeoutMillis })
    .pipe(
      Layer.provideMerge(SqliteStore.layer(options)),
      Layer.provide(layerClient(options))
    )
