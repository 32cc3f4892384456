/**
 * One SQLite commit group, run in one synchronous step on the writer's connection: `BEGIN IMMEDIATE`, each append in a
 * savepoint of its own, `COMMIT`; answers go out only once `COMMIT` returned.
 *
 * When the group's transaction fails (its `COMMIT`, a deferred constraint one append broke; a savepoint's statement;
 * SQLite rolling the whole transaction back by itself), it is rolled back and each of its appends runs again in a
 * transaction of its own, so that each is answered as its own: the one that broke the transaction fails with its
 * cause, the others are stored (see `runGroup` on a `COMMIT` that failed while syncing). Only a `BEGIN` that fails
 * (another process held the write lock past the busy timeout, the connection is closed, or stuck in a transaction it
 * cannot roll back) fails every append waiting for it, with the driver's error.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Metrics from "./metrics.js"
import { type Answer, appendFailed, inSavepoint, type Request, TransactionFailed } from "./savepointAppend.js"
import type { Statements, Tally, Transaction } from "./sqliteStatements.js"

/**
 * An append waiting in the queue: its request, how to answer it, and its deadline's timer.
 *
 * @internal
 */
export interface Pending extends Request {
  readonly resume: (answer: Answer) => void
  readonly timer: ReturnType<typeof setTimeout>
  /** When it was queued (`performance.now()`): its wait for the write lock runs from there to its group's `BEGIN`. */
  readonly queuedAt: number
}

/** The most appends one group takes; the rest wait for the next group. */
const maxAppends = 256

/** A group takes no further append once it has written this many characters of JSON. */
const maxWritten = 4 * 1024 * 1024

/**
 * Takes `pending` out of the queue: its deadline no longer applies, a group answers it in the same step.
 *
 * @internal
 */
export const take = (queue: Set<Pending>, pending: Pending) => {
  queue.delete(pending)
  clearTimeout(pending.timer)
}

/**
 * Every append of the queue, taken out of it.
 *
 * @internal
 */
export function* drain(queue: Set<Pending>): Generator<Pending> {
  for (const pending of queue) {
    take(queue, pending)
    yield pending
  }
}

/**
 * Fails each append with a `StoreError` whose cause is the driver's error.
 *
 * @internal
 */
export const failAll = (group: Iterable<Pending>, cause: unknown) => {
  for (const pending of group) pending.resume(Effect.fail(appendFailed(pending.streamId, cause)))
}

/**
 * Leaves a failed transaction. SQLite may have rolled it back already. A writer left inside a transaction would hold
 * the write lock against every process, so a `ROLLBACK` that fails is run again, up to `attempts` times in all;
 * throws the last one's error when the connection is still inside the transaction.
 */
const leave = (transaction: Transaction, attempts: number) => {
  let failure: unknown
  for (let attempt = 0; attempt < attempts && transaction.inTransaction(); attempt++) {
    try {
      transaction.rollback()
    } catch (cause) {
      failure = cause
    }
  }
  if (transaction.inTransaction()) {
    throw failure ?? new Error("the writer's connection is still inside a transaction after ROLLBACK")
  }
}

/** After a failure: rolls back, twice if need be; a connection still stuck is tried again by {@link open}. */
const rollBack = (transaction: Transaction) => {
  try {
    leave(transaction, 2)
  } catch {
    // open() tries again before the next transaction, and fails its appends with the error while it cannot.
  }
}

/** Opens a transaction: the connection must be out of any (a `ROLLBACK` that failed is tried once more first). */
const open = (transaction: Transaction) => {
  leave(transaction, 1)
  transaction.begin()
}

/** The cause of a failure of the group's transaction. */
const causeOf = (error: unknown) => error instanceof TransactionFailed ? error.cause : error

/**
 * Runs one group of the queue's first appends and answers each of them. Each append taken records its wait for the
 * write lock, up to the moment `BEGIN IMMEDIATE` returned (an append run alone after its group failed records none
 * again); each transaction that commits records its size.
 *
 * @internal
 */
export const runGroup = (statements: Statements, queue: Set<Pending>): void => {
  try {
    open(statements)
  } catch (cause) {
    return failAll(drain(queue), cause)
  }
  const locked = performance.now()
  const tally: Tally = { written: 0 }
  const backend = statements.backend(tally)
  const taken: Array<Pending> = []
  const answers: Array<Answer> = []
  try {
    for (const pending of queue) {
      if (taken.length >= maxAppends || tally.written >= maxWritten) break
      take(queue, pending)
      Metrics.waited(Metrics.sqlite, pending.queuedAt, locked)
      taken.push(pending)
      answers.push(inSavepoint(statements, backend, pending))
    }
    statements.commit()
  } catch {
    // The group's answers are void with its transaction: each append runs again, alone. (After a COMMIT that failed
    // while syncing the log, what reached the disk may come back at a recovery: the outcome is unknown, but a batch
    // sent again with its ids is recognised.)
    rollBack(statements)
    return runAlone(statements, taken)
  }
  Metrics.groupCommitted(Metrics.sqlite, taken.length)
  for (let i = 0; i < taken.length; i++) taken[i]!.resume(answers[i]!)
}

/**
 * Runs each append of a group whose transaction failed in a transaction of its own, and answers it: its outcome, or
 * a `StoreError` with the cause of its own transaction's failure. A `BEGIN` that fails fails those left.
 */
const runAlone = (statements: Statements, group: ReadonlyArray<Pending>) => {
  for (let i = 0; i < group.length; i++) {
    const pending = group[i]!
    try {
      open(statements)
    } catch (cause) {
      return failAll(group.slice(i), cause)
    }
    let answer: Answer
    try {
      answer = inSavepoint(statements, statements.backend({ written: 0 }), pending)
      statements.commit()
      Metrics.groupCommitted(Metrics.sqlite, 1)
    } catch (error) {
      rollBack(statements)
      answer = Effect.fail(appendFailed(pending.streamId, causeOf(error)))
    }
    pending.resume(answer)
  }
}
