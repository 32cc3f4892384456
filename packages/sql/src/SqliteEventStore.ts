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
import * as SqlCheckpoints from "./SqlCheckpoints.js"
import * as SqlEventStore from "./SqlEventStore.js"

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
}

/**
 * The SQLite client {@link layer} stores through: the file opened in WAL mode with `synchronous=NORMAL`, the busy
 * timeout and foreign keys on. A file that cannot be opened (a missing directory, not a database) is a `StoreError`
 * naming the file, never a defect.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options: Options
): Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, EventStore.StoreError> =>
  Layer.unwrapEffect(Effect.map(
    internalOptions.millis("busyTimeoutMillis", options.busyTimeoutMillis ?? 10_000),
    (busyTimeout) =>
      Layer.effectDiscard(Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        // A PRAGMA takes no bound parameters; the value is a validated integer.
        yield* sql.unsafe(`PRAGMA busy_timeout = ${busyTimeout}`)
        yield* sql`PRAGMA synchronous = NORMAL`
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
 * A store on a SQLite file, in WAL mode with `synchronous=NORMAL`, a busy timeout and foreign keys on (see
 * {@link layerClient}). Many processes may share the file.
 *
 * The read side: `readAll` and `subscribe` follow the global log in position order, which on SQLite (one writer at a
 * time) is the order of commits. This process's commits wake its subscribers at once; a subscriber waiting at the end
 * of the log checks every `pollIntervalMillis` (default 100 ms) whether another process changed the file (`PRAGMA
 * data_version`, no read of the tables), and reads when it did.
 *
 * Deadlines: an append fails with `AppendTimeout` after `appendTimeoutMillis` (default: the busy timeout + 1 s), and a
 * read with a `StoreError` after `statementTimeoutMillis` (default 30 s), but SQLite works synchronously in the
 * process: a statement, and a wait for another process's write lock (up to `busyTimeoutMillis`), run to their end
 * first. What a deadline ends is a wait for the process's one connection (held by a long transaction of another
 * fiber, say) and the time between statements.
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
      Layer.provideMerge(SqlEventStore.layer({
        ...options,
        appendTimeoutMillis: options.appendTimeoutMillis ??
          internalOptions.defaultAppendTimeout(options.busyTimeoutMillis ?? 10_000)
      })),
      Layer.provide(layerClient(options))
    )
