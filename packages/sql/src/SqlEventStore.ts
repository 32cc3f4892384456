/**
 * Event stores over `@effect/sql`: the store needs only the abstract `SqlClient`, so the application picks SQLite
 * (embedded, one machine) or PostgreSQL (many processes and machines) by the client Layer it provides.
 *
 * @since 0.1.0
 */
import { EventStore } from "@concord/core"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as internalOptions from "./internal/options.js"
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
   * number of milliseconds; default: no limit).
   */
  readonly lockTimeoutMillis?: number | undefined
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
 * @since 0.1.0
 * @category models
 */
export interface SqliteOptions extends Options {
  readonly filename: string
  /** How long a writer waits for another process's write lock before failing (whole milliseconds; default 10 s). */
  readonly busyTimeoutMillis?: number | undefined
}

/**
 * The SQLite client {@link layerSqlite} stores through: the file opened in WAL mode with `synchronous=NORMAL`, the
 * busy timeout and foreign keys on. A file that cannot be opened (a missing directory, not a database) is a
 * `StoreError` naming the file, never a defect.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqliteClient = (
  options: SqliteOptions
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
 * The embedded default: a store on a SQLite file, in WAL mode with `synchronous=NORMAL`, a busy timeout and foreign
 * keys on (see {@link layerSqliteClient}). Many processes may share the file.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (options: SqliteOptions): Layer.Layer<EventStore.EventStore, EventStore.StoreError> =>
  layer(options).pipe(Layer.provide(layerSqliteClient(options)))

/**
 * @since 0.1.0
 * @category models
 */
export interface PgOptions extends Options {
  readonly url: string | Redacted.Redacted
  /** The size of the connection pool (a whole number, at least 1; default 10). */
  readonly maxConnections?: number | undefined
}

/**
 * A store on PostgreSQL, for many stateless processes over one database. `lockTimeoutMillis` becomes a session
 * default of every pooled connection (`-c lock_timeout` in the connection's options), so that it bounds the
 * one-statement path of the common append as well as the full path.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (
  options: PgOptions
): Layer.Layer<EventStore.EventStore, EventStore.StoreError> =>
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
    return layer({ ...options, lockTimeoutMillis: undefined }).pipe(
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
