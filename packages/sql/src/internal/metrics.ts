/**
 * The SQL stores' own metrics: how many appends each group commit carried, and how long an append waited for the
 * write lock, each tagged with the store (`store`: `sqlite` or `postgres`).
 *
 * They are updated synchronously (`unsafeUpdate`), inside the synchronous steps that form and answer a group, so that
 * the append path allocates no effect for them. The tags are constant arrays, which the metric's hook cache keys by
 * identity: an update is one lookup and one histogram update. Tags a fiber adds with `Effect.tagMetrics` do not apply.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"

/**
 * `concord_commit_group_size`: the appends carried by each group transaction that committed. SQLite takes up to 256
 * appends in a group, PostgreSQL up to 64: the boundaries 1, 2, 4, … 256 cover both.
 *
 * @internal
 */
export const commitGroupSize = Metric.histogram(
  "concord_commit_group_size",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 10 }),
  "Appends carried by each commit group's transaction that committed (SQLite: each transaction of the group " +
    "committer, an append run alone after its group failed counting as a group of 1; PostgreSQL: each group " +
    "statement that returned its statuses, counting the appends it wrote)"
)

/**
 * `concord_store_lock_wait_seconds`: how long an append waited for the right to write. What can be measured
 * differs by store and path; each definition is in the description, which exporters publish.
 *
 * @internal
 */
export const lockWait = Metric.histogram(
  "concord_store_lock_wait_seconds",
  MetricBoundaries.fromIterable([
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10
  ]),
  "Seconds an append waited for the write lock. SQLite group commit: from the append being queued until its " +
    "group's BEGIN IMMEDIATE returned (queue, connection, another process's lock), once per append taken into a " +
    "group. SQLite otherwise (a store without a writer's connection): from the start of each write transaction of " +
    "the append until its BEGIN IMMEDIATE returned; not measured inside a caller's transaction. PostgreSQL group " +
    "commit: from the append's write being queued until its group's statement was sent (queue, a free committer, a " +
    "connection); inside the statement, rows another writer holds are skipped and other lock waits (at most 20 ms " +
    "each) are not measured. PostgreSQL full path: from the start of the append's transaction (or savepoint) until " +
    "the statement that locks the stream's row returned (connection, BEGIN, the row lock's wait)"
)

/** @internal */
export type Store = ReadonlyArray<MetricLabel.MetricLabel>

/**
 * The tags of SQLite's metrics (one array for every update: see the module's comment).
 *
 * @internal
 */
export const sqlite: Store = [MetricLabel.make("store", "sqlite")]

/** @internal */
export const postgres: Store = [MetricLabel.make("store", "postgres")]

/**
 * Records a group of `appends`.
 *
 * @internal
 */
export const groupCommitted = (store: Store, appends: number): void => commitGroupSize.unsafeUpdate(appends, store)

/**
 * Records a lock wait that began at `since` (`performance.now()`) and ended `now`.
 *
 * @internal
 */
export const waited = (store: Store, since: number, now: number = performance.now()): void =>
  lockWait.unsafeUpdate((now - since) / 1000, store)
