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
