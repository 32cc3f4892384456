/**
 * The commit signal of a store whose commits may come from other processes, which its own signal cannot hear.
 *
 * @internal
 */
import type { StoreBackend } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"

/**
 * A commit signal that also hears commits `probe` sees (see {@link make}).
 *
 * @internal
 */
export interface WatchedSignal extends StoreBackend.CommitSignal {
  /**
   * Takes what `now` answers as the watcher's last answer. For a commit of this process's own that the probe sees
   * (SQLite's data_version changes on a connection when another connection of the process commits): run it after the
   * commit, where nothing else can commit on this connection, and notify after it. The subscribers read after that
   * notification, so they find whatever the new answer stands for; without it the watcher's next check would wake
   * them all again to read nothing.
   */
  readonly refresh: (now: Effect.Effect<string, unknown>) => Effect.Effect<void>
}

/**
 * A signal whose wait also ends when `probe` (a cheap statement, such as SQLite's `PRAGMA data_version` or
 * PostgreSQL's end of the visible log) answers something else than it did. One watcher for all of the store's
 * waiters runs the probe every `interval` while anyone waits, and wakes them all when the answer differs: a check per
 * waiter would cost a statement per subscriber per interval, a thousand a second for a thousand idle PostgreSQL
 * subscribers and ten times that on SQLite.
 *
 * Each mark takes a baseline before the subscriber reads: the watcher's last answer while one runs, otherwise a
 * probe (shared by the marks made while it runs: an older baseline only wakes a waiter sooner). When the waiter
 * starts to wait, a watcher that has since seen something else wakes it at once; when none runs, one starts from its
 * baseline. So a commit between a subscriber's mark and its wait is never missed, whoever watched meanwhile. A probe
 * that fails counts as a change: the subscribers read again, and meet the failure there if it lasts.
 *
 * @internal
 */
export const make = (
  own: StoreBackend.CommitSignal,
  interval: Duration.Duration,
  probe: Effect.Effect<string, unknown>
): WatchedSignal => {
  const answer = Effect.orElseSucceed(probe, () => undefined)
  let waiting = 0
  let watching = false
  // What the watcher last saw; undefined counts as a change at its next check.
  let seen: string | undefined
  // The probe of the marks made while no watcher runs, shared while it runs.
  let probing: Deferred.Deferred<string | undefined> | undefined
  const baseline: Effect.Effect<string | undefined> = Effect.suspend(() => {
    if (watching) return Effect.succeed(seen)
    if (probing !== undefined) return Deferred.await(probing)
    const result = Deferred.unsafeMake<string | undefined>(FiberId.none)
    probing = result
    // In a fiber of its own, so that a mark that is interrupted leaves the others their answer.
    return Effect.zipRight(
      Effect.forkDaemon(
        Effect.flatMap(
          answer,
          (now) => Effect.zipRight(Effect.sync(() => (probing = undefined)), Deferred.succeed(result, now))
        )
      ),
      Deferred.await(result)
    )
  })
  const check = Effect.flatMap(answer, (now) =>
    Effect.sync(() => {
      const changed = seen === undefined || now === undefined || now !== seen
      seen = now
      if (changed) own.notify()
    }))
  // Stops once no one waits, at its next check (in the same step that says so: a wait starting after it starts
  // another); a wait that starts before then keeps it.
  const watch: Effect.Effect<void> = Effect.zipRight(
    Effect.sleep(interval),
    Effect.suspend(() => {
      if (waiting > 0) return Effect.zipRight(check, watch)
      watching = false
      return Effect.void
    })
  )
  const waitFor = (changed: Effect.Effect<void>, base: string | undefined) =>
    Effect.acquireUseRelease(
      Effect.suspend(() => {
        waiting++
        if (watching) {
          // Without a baseline, the watcher's next check wakes everyone; when it has seen something else since this
          // waiter's baseline (and told only those who marked after), the waiter reads again at once.
          if (base === undefined) seen = undefined
          else if (seen !== base) own.notify()
          return Effect.void
        }
        watching = true
        seen = base
        // Interruptible: forked in acquireUseRelease's uninterruptible acquire, it would otherwise inherit that.
        return Effect.asVoid(
          Effect.forkDaemon(
            Effect.interruptible(Effect.onInterrupt(watch, () => Effect.sync(() => (watching = false))))
          )
        )
      }),
      () => changed,
      () => Effect.sync(() => void waiting--)
    )
  return {
    notify: own.notify,
    // Only a running watcher keeps an answer; a watcher that starts takes its baseline then.
    refresh: (now) =>
      Effect.suspend(() =>
        watching
          ? Effect.flatMap(Effect.option(now), (answer) =>
            Effect.sync(() => {
              if (watching && answer._tag === "Some") seen = answer.value
            }))
          : Effect.void
      ),
    mark: Effect.gen(function*() {
      const changed = yield* own.mark
      const base = yield* baseline
      return waitFor(changed, base)
    })
  }
}

/**
 * SQLite's probe: the connection's `PRAGMA data_version`, which changes when another connection commits, with the
 * count of appends made inside callers' transactions. Such an append cannot notify (it is not committed yet); the
 * next check after it wakes the waiters: the connection is the caller's until its transaction ends, so that check
 * runs after the commit.
 *
 * @internal
 */
export const sqliteProbe = (sql: SqlClient.SqlClient, unannounced: () => number): Effect.Effect<string, unknown> =>
  Effect.map(sql<{ data_version: number }>`PRAGMA data_version`, (rows) => sqliteAnswer(rows, unannounced()))

/**
 * {@link sqliteProbe} on a connection already held (the group commit's, after its commit: see `refresh`).
 *
 * @internal
 */
export const sqliteProbeOn = (
  connection: SqlConnection.Connection,
  unannounced: () => number
): Effect.Effect<string, unknown> =>
  Effect.map(connection.execute("PRAGMA data_version", [], undefined), (rows) => sqliteAnswer(rows, unannounced()))

const sqliteAnswer = (rows: ReadonlyArray<{ readonly data_version?: number }>, unannounced: number) =>
  `${rows[0]?.data_version}:${unannounced}`
