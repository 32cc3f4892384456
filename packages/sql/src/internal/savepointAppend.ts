/**
 * One append of a SQLite commit group, in a savepoint of its own inside the group's transaction: the shared append
 * semantics (`StoreBackend.appendSync`, under the write lock: nothing else can write between its read and its write),
 * rolled back to the savepoint when it failed, so that it never touches another append of the group.
 *
 * @internal
 */
import { EventStore, StoreBackend } from "@concord/core"
import type { ConflictRegistry, Event, ExpectedVersion, StreamId } from "@concord/core"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { uniqueViolationOf } from "./appendFailures.js"
import { DriverFailure, type Transaction } from "./sqliteStatements.js"

/**
 * An append's arguments, and the clock of its fiber, which times its events as the other paths do.
 *
 * @internal
 */
export interface Request {
  readonly streamId: StreamId.StreamId
  readonly expected: ExpectedVersion.ExpectedVersion
  readonly proposed: ReadonlyArray<Event.EventData>
  readonly registry: ConflictRegistry.ConflictRegistry<any, any>
  readonly clock: Clock.Clock
}

/**
 * What an append is answered, run in its own fiber: its outcome, after a warning for each unique violation.
 *
 * @internal
 */
export type Answer = Effect.Effect<EventStore.AppendResult, EventStore.AppendError>

/**
 * The group's transaction cannot go on: a savepoint's statement failed, or a failure of the driver's ended the
 * transaction (SQLite rolls the whole of it back after `RAISE(ROLLBACK)`, a full disk, an I/O error, a lack of
 * memory). The cause is that failure, not the "no such savepoint" of the statements that would follow.
 *
 * @internal
 */
export class TransactionFailed {
  constructor(readonly cause: unknown) {}
}

/** @internal */
export const appendFailed = (streamId: StreamId.StreamId, cause: unknown) =>
  new EventStore.StoreError({ operation: `append to stream ${streamId}`, cause })

/**
 * How many times an append a unique constraint refused is run: under the write lock no other writer can have won a
 * race, so a violation means a row the streams table does not account for; the append is checked again, as the
 * other path checks it, and then fails with a `StoreError`.
 */
const uniqueAttempts = 4

const uniqueWarning = (streamId: StreamId.StreamId) =>
  Effect.logWarning("another writer won a race for a unique key; checking the append again").pipe(
    Effect.annotateLogs({ stream: streamId })
  )

/** The answer, after a warning in the appending fiber for each unique violation it met. */
const warned = (streamId: StreamId.StreamId, violations: number, answer: Answer): Answer =>
  violations === 0 ? answer : Effect.zipRight(Effect.repeatN(uniqueWarning(streamId), violations - 1), answer)

/** What one run of the shared append came to: an outcome, what the driver threw, or what anything else threw. */
type Attempt =
  | { readonly _tag: "Done"; readonly outcome: Either.Either<EventStore.AppendResult, EventStore.AppendError> }
  | { readonly _tag: "DriverFailed"; readonly cause: unknown }
  | { readonly _tag: "Died"; readonly defect: unknown }

const attempt = (backend: StoreBackend.SyncBackend, request: Request): Attempt => {
  try {
    return {
      _tag: "Done",
      outcome: StoreBackend.appendSync(
        backend,
        request.clock,
        request.registry,
        request.streamId,
        request.expected,
        request.proposed
      )
    }
  } catch (error) {
    return error instanceof DriverFailure
      ? { _tag: "DriverFailed", cause: error.cause }
      : { _tag: "Died", defect: error }
  }
}

/** Runs a savepoint's statement; its failure is the transaction's. */
const step = (statement: () => void) => {
  try {
    statement()
  } catch (cause) {
    throw new TransactionFailed(cause)
  }
}

/**
 * Runs `request` in a savepoint of the open transaction and returns its answer. A refused append wrote nothing, but
 * one whose statement failed may have written some of its rows: either is rolled back to the savepoint. A conflict
 * rule that throws is a defect of this append's, as on the other paths. Throws {@link TransactionFailed} only.
 *
 * @internal
 */
export const inSavepoint = (
  transaction: Transaction,
  backend: StoreBackend.SyncBackend,
  request: Request
): Answer => {
  step(transaction.savepoint)
  let violations = 0
  for (;;) {
    const result = attempt(backend, request)
    if (result._tag === "Done" && Either.isRight(result.outcome)) {
      step(transaction.releaseSavepoint)
      return warned(request.streamId, violations, result.outcome)
    }
    if (result._tag === "DriverFailed" && !transaction.inTransaction()) throw new TransactionFailed(result.cause)
    step(transaction.rollbackToSavepoint)
    if (result._tag === "DriverFailed") {
      const unique = uniqueViolationOf(result.cause)
      if (unique !== undefined && ++violations < uniqueAttempts) continue
      step(transaction.releaseSavepoint)
      return warned(request.streamId, violations, Effect.fail(appendFailed(request.streamId, unique ?? result.cause)))
    }
    step(transaction.releaseSavepoint)
    return warned(request.streamId, violations, result._tag === "Died" ? Effect.die(result.defect) : result.outcome)
  }
}
