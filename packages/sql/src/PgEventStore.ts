/**
 * The event store on PostgreSQL, for many stateless processes on many machines over one database. Imported from
 * `@concord/sql/pg`, so that only an application on PostgreSQL needs `@effect/sql-pg`.
 *
 * @since 0.1.0
 */
import type { Checkpoints } from "@concord/core"
import { EventStore } from "@concord/core"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as internalOptions from "./internal/options.js"
import * as internal from "./internal/sqlStore.js"
import * as SqlCheckpoints from "./SqlCheckpoints.js"
import type * as SqlEventStore from "./SqlEventStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends SqlEventStore.Options {
  readonly url: string | Redacted.Redacted
  /** The size of the connection pool (a whole number, at least 1; default 10). */
  readonly maxConnections?: number | undefined
}

/**
 * A store on PostgreSQL. `lockTimeoutMillis` becomes a session default of every pooled connection (`-c lock_timeout`
 * in the connection's options), so that it bounds the one-statement path of the common append as well as the full
 * path.
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
    const given = typeof options.url === "string" ? options.url : Redacted.value(options.url)
    const url = lockTimeout === undefined ? given : yield* Effect.try({
      try: () => withSessionOption(given, `-c lock_timeout=${lockTimeout}`),
      catch: (cause) => new EventStore.StoreError({ operation: "read the PostgreSQL URL", cause })
    })
    const store = Layer.effect(
      EventStore.EventStore,
      Effect.flatMap(PgClient.PgClient, (client) =>
        internal.make({ ...options, lockTimeoutMillis: undefined }, {
          listen: (channel) => client.listen(channel)
        }))
    )
    // The consumers' checkpoints in the same database, after the store (whose migrations create their table).
    return SqlCheckpoints.layer({ tablePrefix: options.tablePrefix }).pipe(
      Layer.provideMerge(store),
      Layer.provide(
        PgClient.layer({ url: Redacted.make(url), maxConnections }).pipe(
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
