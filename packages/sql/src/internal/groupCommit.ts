/**
 * SQLite's group commit: the appends that arrive while the store is busy share one transaction and one sync of the
 * disk, each in a savepoint of its own, so that one append's conflict or failure never touches another's.
 *
 * An append is checked first (an invalid one is refused at once, whatever holds the write lock) and then waits in a
 * queue. When the queue becomes non-empty a committer is started after the current turn of the event loop
 * (`setImmediate`), so that every append submitted in that turn joins it and a lone append waits for no company. The
 * committer takes the store's `SqlClient` connection first (`sql.reserve`, its one permit): a transaction of a
 * caller's on that connection may hold SQLite's write lock across turns of the event loop, and `BEGIN IMMEDIATE` on
 * this thread would then wait on a lock only this thread can release. Then it runs groups (commitGroup.ts) until the
 * queue is empty, and wakes this process's subscribers.
 *
 * Metrics (see `metrics.ts`): each append's wait for the write lock runs from its queueing until its group's `BEGIN
 * IMMEDIATE` returned, so it holds the queue, the connection's permit and another process's lock alike.
 *
 * @internal
 */
import { EventStore, StoreBackend } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type { Committer } from "./appending.js"
import { drain, failAll, type Pending, runGroup } from "./commitGroup.js"
import type { Statements } from "./sqliteStatements.js"

/** @internal */
export interface Options {
  readonly sql: SqlClient.SqlClient
  readonly statements: Statements
  readonly signal: StoreBackend.CommitSignal
  /** The append deadline (milliseconds): an append still queued then answers `AppendTimeout`, having written nothing. */
  readonly appendTimeout: number
  /**
   * Run after the groups committed, on the `SqlClient` connection the committer still holds, before the subscribers
   * are woken (the store's watcher takes note of the file's new state there, which is not another process's commit).
   */
  readonly committed: (connection: SqlConnection.Connection) => Effect.Effect<void>
}

/**
 * Runs groups until the queue is empty, holding the `SqlClient` connection; then this process's subscribers wake. A
 * failure to take the connection fails every queued append.
 */
const commit = (options: Options, queue: Set<Pending>) =>
  Effect.scoped(Effect.flatMap(options.sql.reserve, (connection) => {
    if (queue.size === 0) return Effect.void
    while (queue.size > 0) runGroup(options.statements, queue)
    return Effect.zipRight(options.committed(connection), Effect.sync(() => options.signal.notify()))
  })).pipe(
    Effect.catchAllCause((cause) => Effect.sync(() => failAll(drain(queue), Cause.squash(cause))))
  )

/**
 * Queues an append (checked first) and answers it when its group did. An append still queued at its deadline leaves
 * the queue and answers `AppendTimeout` with `mayHaveCommitted: false`; so does one interrupted while queued.
 */
const enqueue =
  (queue: Set<Pending>, schedule: () => void, appendTimeout: number): Committer =>
  (streamId, expected, proposed, registry) =>
    Effect.zipRight(
      StoreBackend.validate(streamId, expected, proposed),
      Effect.clockWith((clock) =>
        Effect.async<EventStore.AppendResult, EventStore.AppendError>((resume) => {
          const pending: Pending = {
            streamId,
            expected,
            proposed,
            registry,
            clock,
            resume,
            // The start of its lock wait (see Metrics.lockWait): a cheap clock, read once per append.
            queuedAt: performance.now(),
            // Still queued at its deadline: nothing was written, and nothing will be.
            timer: setTimeout(() => {
              if (queue.delete(pending)) {
                resume(Effect.fail(
                  new EventStore.AppendTimeout({ streamId, timeoutMillis: appendTimeout, mayHaveCommitted: false })
                ))
              }
            }, appendTimeout)
          }
          queue.add(pending)
          schedule()
          // Interrupted while queued: it leaves the queue. Once taken, a group answers within the same step.
          return Effect.sync(() => {
            if (queue.delete(pending)) clearTimeout(pending.timer)
          })
        })
      )
    )

/**
 * The group commit of a store whose writer's statements are `options.statements`: its `append`, for the appends made
 * outside any transaction of a caller's, which checks an append, queues it, and answers it once its group committed
 * (or, when the group's transaction failed, once the append ran again alone). One committer runs at a time, in a
 * fiber of the runtime `make` runs in.
 *
 * @internal
 */
export const make = (options: Options): Effect.Effect<{ readonly append: Committer }> =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const queue = new Set<Pending>()
    /** A committer is scheduled or running; it looks at the queue again before it ends. */
    let committing = false
    const committer = Effect.ensuring(
      commit(options, queue),
      Effect.sync(() => {
        committing = false
        if (queue.size > 0) schedule()
      })
    )
    const runCommitter = () => void Runtime.runFork(runtime)(committer)
    const schedule = () => {
      if (committing) return
      committing = true
      setImmediate(runCommitter)
    }
    return { append: enqueue(queue, schedule, options.appendTimeout) }
  })
