/**
 * SQLite's group commit: the appends that arrive while the store is busy share one transaction and one sync of the
 * disk, each in a savepoint of its own, so that one append's conflict or failure never touches another's.
 *
 * An append waits in a queue. When the queue becomes non-empty a committer is started after the current turn of the
 * event loop (`setImmediate`), so that every append submitted in that turn joins it and a lone append waits for no
 * company. The committer takes the store's `SqlClient` connection first (`sql.reserve`, its one permit): a transaction
 * of a caller's on that connection may hold SQLite's write lock across turns of the event loop, and `BEGIN IMMEDIATE`
 * on this thread would then wait on a lock only this thread can release. Then the whole group runs in one
 * synchronous step on the writer's connection: `BEGIN IMMEDIATE`; for each append `SAVEPOINT`, the shared append
 * semantics (`StoreBackend.appendSync`, under the write lock: nothing else can write between its read and its write),
 * `ROLLBACK TO` when it failed, `RELEASE`; `COMMIT`. Answers go out only once `COMMIT` returned.
 *
 * @internal
 */
import { EventStore, StoreBackend } from "@concord/core"
import type { ConflictRegistry, Event, ExpectedVersion, StreamId } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Runtime from "effect/Runtime"
import { uniqueViolationOf } from "./appendFailures.js"
import type { Statements } from "./sqliteStatements.js"

/** The most appends one group takes; the rest wait for the next group. */
const maxAppends = 256

/** A group takes no further append once it has written this many characters of JSON. */
const maxWritten = 4 * 1024 * 1024

/**
 * How many times an append a unique constraint refused is run: under the write lock no other writer can have won a
 * race, so a violation means a row the streams table does not account for; the append is checked again, as the
 * other path checks it, and then fails with a `StoreError`.
 */
const uniqueAttempts = 4

/** What an append is answered, run in its own fiber: its outcome, after a warning for each unique violation. */
type Answer = Effect.Effect<EventStore.AppendResult, EventStore.AppendError>

const uniqueWarning = (streamId: StreamId.StreamId) =>
  Effect.logWarning("another writer won a race for a unique key; checking the append again").pipe(
    Effect.annotateLogs({ stream: streamId })
  )

/** An append waiting in the queue. */
interface Pending {
  readonly streamId: StreamId.StreamId
  readonly expected: ExpectedVersion.ExpectedVersion
  readonly proposed: ReadonlyArray<Event.EventData>
  readonly registry: ConflictRegistry.ConflictRegistry<any, any>
  /** The appending fiber's clock, which times its events as the other paths do. */
  readonly clock: Clock.Clock
  readonly resume: (answer: Answer) => void
  readonly timer: ReturnType<typeof setTimeout>
}

/** What one run of the shared append semantics came to: an outcome, or what the driver threw. */
type Attempt =
  | { readonly _tag: "Done"; readonly outcome: Either.Either<EventStore.AppendResult, EventStore.AppendError> }
  | { readonly _tag: "Threw"; readonly cause: unknown }

/** A failure of the group's transaction itself (its `BEGIN`, a savepoint's statement, its `COMMIT`). */
class GroupFailed {
  constructor(readonly cause: unknown) {}
}

const appendFailed = (pending: Pending, cause: unknown) =>
  new EventStore.StoreError({ operation: `append to stream ${pending.streamId}`, cause })

/** The answer, after a warning in the appending fiber for each unique violation it met. */
const warned = (pending: Pending, violations: number, answer: Answer): Answer =>
  violations === 0 ? answer : Effect.zipRight(Effect.repeatN(uniqueWarning(pending.streamId), violations - 1), answer)

/** @internal */
export const make = (options: {
  readonly sql: SqlClient.SqlClient
  readonly statements: Statements
  readonly signal: StoreBackend.CommitSignal
  /** The append deadline (milliseconds): an append still queued then answers `AppendTimeout`, having written nothing. */
  readonly appendTimeout: number
}) =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const { appendTimeout, signal, sql, statements } = options
    const queue = new Set<Pending>()
    /** A committer is scheduled or running; it looks at the queue again before it ends. */
    let committing = false

    /** Runs a savepoint's statement; its failure is the whole group's. */
    const savepointStep = (step: () => void) => {
      try {
        step()
      } catch (cause) {
        throw new GroupFailed(cause)
      }
    }

    /** The shared append semantics against the writer's statements, once; what the driver throws is kept. */
    const attempt = (pending: Pending): Attempt => {
      try {
        return {
          _tag: "Done",
          outcome: StoreBackend.appendSync(
            statements.backend,
            pending.clock,
            pending.registry,
            pending.streamId,
            pending.expected,
            pending.proposed
          )
        }
      } catch (cause) {
        return { _tag: "Threw", cause }
      }
    }

    /**
     * One append in the group's transaction, in its own savepoint. A refused append wrote nothing, but one whose
     * statement failed may have written some of its rows: either is rolled back to the savepoint. Throws only when a
     * savepoint's statement fails.
     */
    const appendOne = (pending: Pending): Answer => {
      savepointStep(statements.savepoint)
      let violations = 0
      for (;;) {
        const result = attempt(pending)
        if (result._tag === "Done" && Either.isRight(result.outcome)) {
          savepointStep(statements.releaseSavepoint)
          return warned(pending, violations, result.outcome)
        }
        savepointStep(statements.rollbackToSavepoint)
        if (result._tag === "Threw") {
          const unique = uniqueViolationOf(result.cause)
          if (unique !== undefined && ++violations < uniqueAttempts) continue
          savepointStep(statements.releaseSavepoint)
          return warned(pending, violations, Effect.fail(appendFailed(pending, unique ?? result.cause)))
        }
        savepointStep(statements.releaseSavepoint)
        return warned(pending, violations, result.outcome)
      }
    }

    /** Runs one group of the queue's first appends and answers each of them once it committed. */
    const runGroup = () => {
      try {
        statements.begin()
      } catch (cause) {
        // Another process held the write lock past the busy timeout (or the file failed): every queued append waited.
        return fail([...drainQueue()], cause)
      }
      const taken: Array<Pending> = []
      const answers: Array<Answer> = []
      statements.written = 0
      try {
        for (const pending of queue) {
          if (taken.length >= maxAppends || statements.written >= maxWritten) break
          take(pending)
          taken.push(pending)
          answers.push(appendOne(pending))
        }
        statements.commit()
      } catch (error) {
        try {
          statements.rollback()
        } catch {
          // The transaction is gone already (SQLite rolls back by itself after some failures).
        }
        return fail(taken, error instanceof GroupFailed ? error.cause : error)
      }
      for (let i = 0; i < taken.length; i++) taken[i]!.resume(answers[i]!)
    }

    const take = (pending: Pending) => {
      queue.delete(pending)
      clearTimeout(pending.timer)
    }

    function* drainQueue() {
      for (const pending of queue) {
        take(pending)
        yield pending
      }
    }

    /**
     * The group's transaction failed (its `BEGIN`, a savepoint's statement, its `COMMIT`) and was rolled back: none of
     * its appends is stored, and each fails with the driver's error. The answers of those that had succeeded or been
     * refused inside it are void with it.
     */
    const fail = (group: Iterable<Pending>, cause: unknown) => {
      for (const pending of group) pending.resume(Effect.fail(appendFailed(pending, cause)))
    }

    /** Groups until the queue is empty, holding the `SqlClient` connection; then this process's subscribers wake. */
    const commit = Effect.scoped(Effect.zipRight(
      sql.reserve,
      Effect.sync(() => {
        if (queue.size === 0) return
        while (queue.size > 0) runGroup()
        signal.notify()
      })
    )).pipe(
      Effect.catchAllCause((cause) => Effect.sync(() => fail([...drainQueue()], Cause.squash(cause)))),
      Effect.ensuring(Effect.sync(() => {
        committing = false
        if (queue.size > 0) schedule()
      }))
    )
    const runCommit = () => void Runtime.runFork(runtime)(commit)
    const schedule = () => {
      if (committing) return
      committing = true
      setImmediate(runCommit)
    }

    /** An append outside any transaction of the caller's, committed with whatever else is queued at the time. */
    const append = (
      streamId: StreamId.StreamId,
      expected: ExpectedVersion.ExpectedVersion,
      proposed: ReadonlyArray<Event.EventData>,
      registry: ConflictRegistry.ConflictRegistry<any, any>
    ): Effect.Effect<EventStore.AppendResult, EventStore.AppendError> =>
      Effect.clockWith((clock) =>
        Effect.async<EventStore.AppendResult, EventStore.AppendError>((resume) => {
          const pending: Pending = {
            streamId,
            expected,
            proposed,
            registry,
            clock,
            resume,
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

    return { append } as const
  })
