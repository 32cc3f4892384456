/**
 * The event store on PostgreSQL, for many stateless processes on many machines over one database. Imported from
 * `@concord/sql/pg`, so that only an application on PostgreSQL needs `@effect/sql-pg`.
 *
 * @since 0.1.0
 */
import type { Checkpoints } from "@concord/core"
import { EventStore } from "@concord/core"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as internalOptions from "./internal/options.js"
import * as PgGroupSender from "./internal/pgGroupSender.js"
import * as internal from "./internal/sqlStore.js"
import * as SqlCheckpoints from "./SqlCheckpoints.js"
import type * as SqlEventStore from "./SqlEventStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends SqlEventStore.Options {
  readonly url: string | Redacted.Redacted
  /**
   * The size of the connection pool (a whole number, at least 1; default 10). Group commit keeps a pool of its own of
   * up to 2 connections besides.
   */
  readonly maxConnections?: number | undefined
  /**
   * How long opening a connection may take, and how long a statement waits for a pooled connection when all are busy,
   * before failing with a `StoreError` (a whole number of milliseconds from 1 to 2^31 - 1; default 5000). A server
   * that hangs accepts connections it never answers: without this bound each would wait for as long as it hangs.
   *
   * @since 0.3.0
   */
  readonly connectTimeoutMillis?: number | undefined
}

/**
 * A store on PostgreSQL. Every pooled connection carries session defaults (`-c …` in the connection's options):
 * `lock_timeout` when `lockTimeoutMillis` is set, so that it bounds every wait of the full path for another writer's
 * lock (a commit group's statement sets its own `lock_timeout` of 20 ms, which bounds each of its waits for a lock,
 * not the statement: an append of the group that meets another writer's uncommitted row waits up to 20 ms for it and
 * then goes the full path, so a group can wait 20 ms for each such append it holds); `statement_timeout` and `idle_in_transaction_session_timeout` from `statementTimeoutMillis`
 * (default 30 s), so that the server ends what a client gave up on. The client's own deadlines are what answer the
 * callers of a server that hangs: `appendTimeoutMillis` for a whole append (`AppendTimeout`), `statementTimeoutMillis`
 * for each reading statement, `connectTimeoutMillis` for a new connection or a free one from the pool.
 *
 * Group commit: the common appends (an exact expected version, outside a caller's transaction) that arrive while
 * others are on their way to the server wait, and then go together, in one statement and one commit, on up to 2
 * connections of their own; each is still checked on its own and fails alone (a subtransaction each), and one whose
 * stream moved goes on alone, the full way. A lone append waits for no company. An acknowledged append is committed;
 * how durable a commit is, is the server's to say (`synchronous_commit`, `fsync`). An append that times out while it
 * waits for its group, or for its group's connection, answers `AppendTimeout` with `mayHaveCommitted: false`, and is
 * never sent; a group whose connection cannot be had is not sent, and its appends go the full way.
 *
 * The read side: `readAll` and `subscribe` follow the global log, ordered by writing transaction, then position.
 * PostgreSQL assigns positions before commit, so they become visible out of order; a read returns only events of
 * transactions older than every transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`), so none can
 * later appear before what was delivered. A transaction that has written anything and stays open (anywhere in the
 * cluster) holds delivery back until it ends: nothing is skipped, it all comes then. Subscribers hear other
 * processes' commits by `LISTEN`/`NOTIFY` on a channel named after the events table (one extra connection while a
 * store has subscribers; an append asks a background statement for one `NOTIFY`, shared with the appends that
 * follow it), and, for what no notification announces, the store checks the end of the visible log every
 * `pollIntervalMillis` (default 1000 ms) while anyone waits: one check for all its subscribers.
 *
 * It also provides the consumers' `Checkpoints` in the same database (`SqlCheckpoints`, for `Consumer.run`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<EventStore.EventStore | Checkpoints.Checkpoints, EventStore.StoreError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const maxConnections = yield* internalOptions.count("maxConnections", options.maxConnections ?? 10)
    const lockTimeout = options.lockTimeoutMillis === undefined
      ? undefined
      : yield* internalOptions.millis("lockTimeoutMillis", options.lockTimeoutMillis)
    const appendTimeout = yield* internalOptions.deadline(
      "appendTimeoutMillis",
      options.appendTimeoutMillis ?? internalOptions.defaultAppendTimeout(lockTimeout)
    )
    const statementTimeout = yield* internalOptions.deadline(
      "statementTimeoutMillis",
      options.statementTimeoutMillis ?? internalOptions.defaultStatementTimeout
    )
    const connectTimeout = yield* internalOptions.deadline(
      "connectTimeoutMillis",
      options.connectTimeoutMillis ?? 5_000
    )
    const given = typeof options.url === "string" ? options.url : Redacted.value(options.url)
    // The values are validated integers: the options take no bound parameters.
    const settings = [
      ...(lockTimeout === undefined ? [] : [`-c lock_timeout=${lockTimeout}`]),
      `-c statement_timeout=${statementTimeout}`,
      `-c idle_in_transaction_session_timeout=${statementTimeout}`
    ]
    const url = yield* Effect.try({
      try: () => withSessionOption(given, settings.join(" ")),
      catch: (cause) => new EventStore.StoreError({ operation: "read the PostgreSQL URL", cause })
    })
    const store = Layer.scoped(
      EventStore.EventStore,
      Effect.all([PgClient.PgClient, PgGroupSender.make({ url, connectTimeout })]).pipe(
        Effect.flatMap(([client, sendGroup]) =>
          internal.make({
            ...options,
            lockTimeoutMillis: undefined,
            appendTimeoutMillis: appendTimeout,
            statementTimeoutMillis: statementTimeout
          }, {
            listen: (channel) => client.listen(channel),
            sendGroup
          })
        )
      )
    )
    // The consumers' checkpoints in the same database, after the store (whose migrations create their table).
    return SqlCheckpoints.layer({ tablePrefix: options.tablePrefix, statementTimeoutMillis: statementTimeout }).pipe(
      Layer.provideMerge(store),
      Layer.provide(
        PgClient.layer({
          url: Redacted.make(url),
          maxConnections,
          connectTimeout: Duration.millis(connectTimeout)
        }).pipe(
          Layer.mapError((cause) => new EventStore.StoreError({ operation: "connect to PostgreSQL", cause }))
        )
      )
    )
  }))

/** The URL with a server option added to the session options it may already carry. */
const withSessionOption = (url: string, option: string): string => {
  const parsed = new URL(url)
  const existing = parsed.searchParams.get("options")
  parsed.searchParams.set("options", existing === null || existing === "" ? option : `${existing} ${option}`)
  return parsed.toString()
}
