/**
 * Consumers' checkpoints in the store's own database: the table `<prefix>checkpoints` (consumer, position, owner,
 * lease_until) that the store's migrations create, so that a consumer's place lives with the log it reads.
 * `SqliteEventStore.layer` and `PgEventStore.layer` provide it with the store; over a `SqlClient` of your own, provide
 * `SqlCheckpoints.layer` beside `SqlEventStore.layer` with the same `tablePrefix`.
 *
 * Leases are timed by the database's clock, which every process sharing the database agrees on. Every change is one
 * statement: taking a lease is an upsert that succeeds only if the lease is free, expired or the taker's own; saves
 * and renewals are fenced (`UPDATE … WHERE consumer = ? AND owner = ?`). A save only moves a checkpoint forward: one
 * at or before the stored position (a save that timed out and reached the database after a later one) leaves it
 * where it is, and still answers `true` while the owner holds the lease.
 *
 * `transactional` runs an effect in one transaction of the `SqlClient` (on SQLite one that takes the write lock
 * first, `BEGIN IMMEDIATE`). Statements that a consumer's handler runs through a `SqlClient` inside it join that
 * transaction, so a projection into tables of the same database commits with the checkpoint or not at all: exactly
 * once.
 *
 * @since 0.2.0
 */
import { Checkpoints } from "@concord/core"
import type { EventStore } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/checkpoints.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Prefix of the store's tables (default `concord_`): the same as the store's. */
  readonly tablePrefix?: string | undefined
  /**
   * The client's bound on each statement (`acquire`, `renew`, `save`, `release`, `get`; a whole number of milliseconds
   * from 1 to 2^31 - 1; default 30 000): one that misses it fails with a `StoreError`, even on a database that no
   * longer answers. The statement may still take effect once the database answers: a late `save` never moves the
   * checkpoint back, a late `acquire` or `renew` holds the lease until it expires, a late `release` frees it.
   * `transactional` runs the caller's effect, which the caller bounds; statements inside it, and inside any
   * transaction of the caller's (`sql.withTransaction`), run on the caller's connection without this bound.
   *
   * @since 0.3.0
   */
  readonly statementTimeoutMillis?: number | undefined
}

/**
 * Checkpoints over the `SqlClient` in context; runs the store's migrations first (they create the table, and are
 * idempotent).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options?: Options
): Effect.Effect<Checkpoints.Service, EventStore.StoreError, SqlClient.SqlClient> => internal.make(options)

/**
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<Checkpoints.Checkpoints, EventStore.StoreError, SqlClient.SqlClient> =>
  Layer.effect(Checkpoints.Checkpoints, make(options))
