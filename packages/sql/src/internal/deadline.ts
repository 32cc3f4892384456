/**
 * The store's deadlines. A database that hangs (a frozen server, a network partition) answers nothing, so the bounds
 * that matter are the client's: the caller gets an answer when its deadline passes, and the work it gave up on is
 * abandoned, not waited for. Interrupting a statement of `@effect/sql-pg` first cancels it through another
 * connection, and a transaction that is interrupted sends `ROLLBACK` on its own connection: on a frozen server both
 * wait as long as the freeze. So the work runs in a fiber of its own, which is interrupted at the deadline and cleans
 * up in the background, whenever the database lets it.
 *
 * Work inside a transaction its caller opened (`sql.withTransaction`) runs on the caller's connection, and no
 * deadline applies to it: abandoned there, it would leave the caller's transaction in a state nobody knows (a
 * statement still running, or cancelled later by a `pg_cancel_backend` that lands on the caller's next statement),
 * which the caller might go on to commit. The caller's transaction bounds it.
 *
 * @internal
 */
import { EventStore } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"

/**
 * What an append's deadline reads when it passes: whether the store may have begun to commit the batch.
 *
 * The invariant that makes `mayHaveCommitted: false` exact: it is set to `true` only by steps of the append that run
 * interruptibly, right before the step that may commit (the one-statement fast path's statement; a transaction's body,
 * as its last step, when it wrote, before `COMMIT`), and set back to `false` only on the database's answer that the
 * attempt wrote nothing. At the deadline the work is interrupted before the flag is read: from then on no
 * interruptible step of it runs, so a flag still `false` means no commit was begun, and none will be.
 *
 * A commit begun outside the append's fiber (PostgreSQL's group commit sends many appends in one statement) is not
 * stopped by that interruption, which the fiber handles later: the deadline marks the commitment `abandoned` when it
 * reads it, and such a commit takes an append only if its commitment is not abandoned, setting the flag as it does.
 *
 * @internal
 */
export interface Commitment {
  mayHaveCommitted: boolean
  abandoned: boolean
}

/** @internal */
export const commitment = (): Commitment => ({ mayHaveCommitted: false, abandoned: false })

/**
 * The cause of a `StoreError` for a statement the database did not answer in time.
 *
 * @internal
 */
export class TimedOut extends Data.TaggedError("TimedOut")<{ readonly millis: number }> {
  override get message() {
    return `timed out after ${this.millis} ms`
  }
}

/**
 * Runs `work` in a fiber of its own and waits for it at most `millis` milliseconds of wall-clock time. At the deadline
 * the fiber is told to stop (and not waited for), and then the answer is `onTimeout()`: so whatever `onTimeout` reads,
 * it reads once the work can take no further interruptible step. A caller that is interrupted leaves the work
 * likewise.
 *
 * The deadline is real time, not the `Clock` of the program, since a database hangs in real time; and it costs a
 * timer and the one fiber, where `Effect.disconnect` with `Effect.timeoutFail` costs four fibers (some 100 µs more
 * for every append and every read on a loaded machine).
 */
const within = <A, E, R, E2>(
  work: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.fiberIdWith((caller) =>
      // Interruptible whatever the caller is: a caller may run the store uninterruptibly (the service does, so that an
      // append once begun is logged and counted), and an uninterruptible work would go on to commit after its
      // deadline had answered that nothing was written.
      Effect.flatMap(Effect.forkDaemon(Effect.interruptible(work)), (fiber) =>
        restore(Effect.async<A, E | E2>((resume) => {
          const observer = (exit: Exit.Exit<A, E>) => {
            clearTimeout(timer)
            resume(exit)
          }
          const timer = setTimeout(() => {
            fiber.removeObserver(observer)
            fiber.unsafeInterruptAsFork(caller)
            resume(Effect.fail(onTimeout()))
          }, millis)
          fiber.addObserver(observer)
          return Effect.sync(() => {
            clearTimeout(timer)
            fiber.removeObserver(observer)
            fiber.unsafeInterruptAsFork(caller)
          })
        })))
    )
  )

/**
 * The append `work` within `millis`, or `AppendTimeout` at the deadline, saying what `commitment` says. The work runs
 * on, interrupted, in the background (see the module's comment).
 *
 * @internal
 */
export const append = <A, E, R>(
  work: Effect.Effect<A, E, R>,
  options: { readonly streamId: string; readonly millis: number; readonly commitment: Commitment }
): Effect.Effect<A, E | EventStore.AppendTimeout, R> =>
  within(work, options.millis, () => {
    // Read once the work was told to stop: see Commitment.
    options.commitment.abandoned = true
    return new EventStore.AppendTimeout({
      streamId: options.streamId,
      timeoutMillis: options.millis,
      mayHaveCommitted: options.commitment.mayHaveCommitted
    })
  })

/**
 * A statement (a read, a version, a poll, a checkpoint's) within `millis`; its failure, or the deadline (with a
 * {@link TimedOut} cause), is the `StoreError` made by `failed`. A statement may be tried again inside
 * (`retryCancelled`): the bound is for all of it. Inside a caller's transaction it runs unbounded, on the caller's
 * connection (see the module's comment).
 *
 * @internal
 */
export const statement = (millis: number, failed: (cause: unknown) => EventStore.StoreError) =>
<A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, EventStore.StoreError, R> => {
  const failing = Effect.mapError(self, failed)
  return Effect.flatMap(
    Effect.serviceOption(SqlClient.TransactionConnection),
    (outer) => Option.isSome(outer) ? failing : within(failing, millis, () => failed(new TimedOut({ millis })))
  )
}
