/**
 * A SQL store's append: the fast path when it applies, the full path otherwise or when the fast path missed, the full
 * path again after a lost race, and the append's deadline around all of it.
 *
 * @internal
 */
import { StoreBackend, StreamVersion } from "@concord/core"
import type { ConflictRegistry, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as AppendFailures from "./appendFailures.js"
import * as Deadline from "./deadline.js"
import * as FastPath from "./fastPath.js"
import * as FullPath from "./fullPath.js"
import type * as Migrations from "./migrations.js"
import { type Dialect, storeError } from "./rows.js"

/** One call to `append`, with what every attempt at it shares. */
interface Request {
  readonly streamId: StreamId.StreamId
  readonly expected: ExpectedVersion.ExpectedVersion
  readonly proposed: ReadonlyArray<Event.EventData>
  readonly registry: ConflictRegistry.ConflictRegistry<any, any>
  /** The append runs on the connection of a transaction its caller opened (`sql.withTransaction`). */
  readonly inCallerTransaction: boolean
  readonly commitment: Deadline.Commitment
}

/**
 * A store's own way to commit an append outside any transaction of the caller's (SQLite's group commit), with the
 * whole append's semantics and deadline.
 *
 * @internal
 */
export type Committer = (
  streamId: StreamId.StreamId,
  expected: ExpectedVersion.ExpectedVersion,
  proposed: ReadonlyArray<Event.EventData>,
  registry: ConflictRegistry.ConflictRegistry<any, any>
) => Effect.Effect<EventStore.AppendResult, EventStore.AppendError>

const noEvents: ReadonlyArray<Event.EventData> = []

/** @internal */
export const make = (options: {
  readonly sql: SqlClient.SqlClient
  readonly dialect: Dialect
  readonly names: Migrations.Tables
  readonly registry: ConflictRegistry.ConflictRegistry<any, any>
  readonly lockTimeout: number | undefined
  readonly appendTimeout: number
  /** Run after the events are written inside a caller's transaction (PostgreSQL: a NOTIFY sent at its commit). */
  readonly writtenInCallerTransaction: Effect.Effect<void, SqlError>
  /** Run when an append's work ends, however it ends, even after its deadline. */
  readonly appended: (inCallerTransaction: boolean) => <A, E>(exit: Exit.Exit<A, E>) => Effect.Effect<void>
  /** Takes the appends made outside callers' transactions, when the store has one. */
  readonly committer?: Committer | undefined
  /** The fast path's writes made another way (PostgreSQL's group commit), in place of one statement each. */
  readonly fastPath?: ReturnType<typeof FastPath.make> | undefined
}): EventStore.Service["append"] => {
  const { appendTimeout, dialect, lockTimeout } = options
  const fullPath = FullPath.make(options)
  const fastPath = options.fastPath ?? FastPath.make(options)

  /** The full path: its body marks the commitment as its last step, before `COMMIT`, once it wrote. */
  const full = (request: Request) =>
    Effect.suspend(() => {
      let wrote = false
      return fullPath.lockedTransaction(request.streamId, (current, ordered) => {
        const backend = fullPath.backend(request.streamId, current, ordered, request.inCallerTransaction)
        return StoreBackend.append(
          {
            ...backend,
            write: (records, batch) => Effect.zipRight(Effect.sync(() => (wrote = true)), backend.write(records, batch))
          },
          request.registry,
          request.streamId,
          request.expected,
          request.proposed
        ).pipe(
          // The body's last step, before COMMIT: see Deadline.Commitment.
          Effect.tap(() => Effect.sync(() => (request.commitment.mayHaveCommitted ||= wrote)))
        )
      })
    })

  /**
   * The expected version the fast path may guard on, if it may take the append. It needs a version to guard on and
   * something to write (an empty batch's result is the current version, which it does not read). Inside a caller's
   * transaction, a failed statement would abort it, and SET LOCAL lock_timeout needs a transaction of its own: the
   * full path then. A batch that would pass the columns' range is for the full path to refuse (WrongExpectedVersion),
   * not for the database to fail on.
   */
  const fastPathVersion = (request: Request): StreamVersion.StreamVersion | undefined =>
    request.expected._tag === "Exact" && request.proposed.length > 0 && !request.inCallerTransaction &&
      request.expected.version + request.proposed.length <= StreamVersion.max &&
      (dialect === "sqlite" || lockTimeout === undefined)
      ? request.expected.version
      : undefined

  /** The first attempt: the fast path when it may take the append, else the full path. */
  const first = (request: Request) => {
    const expected = fastPathVersion(request)
    return expected === undefined
      ? full(request)
      : StoreBackend.append(
        fastPath.optimistic(request.streamId, expected, request.commitment),
        request.registry,
        request.streamId,
        request.expected,
        request.proposed
      ).pipe(
        // The stream is not at the expected version and nothing was written: the full path decides, as for any
        // append that is not the common case.
        Effect.catchTag("Missed", () => full(request))
      )
  }

  /** An attempt that lost a race for a unique key says so in the log. */
  const warned = (streamId: StreamId.StreamId) =>
  <A, E extends { readonly _tag: string }, R>(
    attempt: Effect.Effect<A, E, R>
  ) =>
    Effect.tapError(attempt, (error) =>
      error._tag === "UniqueViolation"
        ? Effect.logWarning("another writer won a race for a unique key; checking the append again").pipe(
          Effect.annotateLogs({ stream: streamId })
        )
        : Effect.void)

  /** The full path may run again after these failures, in a new transaction of its own. */
  const retried = (inCallerTransaction: boolean) =>
  <E extends { readonly _tag: string }>(
    error: E
  ): error is Extract<E, AppendFailures.UniqueViolation | AppendFailures.OutOfOrder> =>
    error._tag === "UniqueViolation" || (error._tag === "OutOfOrder" && !inCallerTransaction)
  // Built once, not per append.
  const retriedOwn = retried(false)
  const retriedInCallerTransaction = retried(true)

  /**
   * The work of one append, whatever bounds it. The unique constraints are the last line of defence: a violation
   * means another writer won a race (on PostgreSQL, a batch of another stream taking one of the same event ids) or,
   * on the fast path, that the batch was stored before. The whole check runs again the full way rather than failing
   * blindly; it then sees the winner's events or the stored batch. So does an append whose transaction came before the
   * stream's last one (PostgreSQL, AppendFailures.OutOfOrder), unless it is the caller's transaction, which only the
   * caller can run again. Three checks again after the first attempt, whichever path.
   */
  const work = (request: Request) => {
    const again = request.inCallerTransaction ? retriedInCallerTransaction : retriedOwn
    const logged = warned(request.streamId)
    return logged(first(request)).pipe(
      Effect.catchIf(again, () => logged(full(request)).pipe(Effect.retry({ while: again, times: 2 }))),
      Effect.mapError((error) =>
        error._tag === "SqlError" || error._tag === "UniqueViolation" || error._tag === "OutOfOrder"
          ? storeError(`append to stream ${request.streamId}`)(error)
          : error
      ),
      // When the work ends, even after its caller's deadline: its transaction is over then.
      Effect.onExit(options.appended(request.inCallerTransaction))
    )
  }

  // No span of its own: an append's span is `Telemetry.instrument`'s (`concord.store.append`, with its versions),
  // which a span here would repeat, at several microseconds an append even where no tracer sees it.
  return (streamId, expected, proposed, appendOptions) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) => {
      // The committer checks the whole append before it queues it.
      if (options.committer !== undefined && Option.isNone(outer)) {
        return options.committer(streamId, expected, proposed, appendOptions?.registry ?? options.registry)
      }
      const request: Request = {
        streamId,
        expected,
        proposed,
        registry: appendOptions?.registry ?? options.registry,
        inCallerTransaction: Option.isSome(outer),
        commitment: Deadline.commitment()
      }
      // The arguments are checked before anything else, whatever the caller's types said: the full path's lock
      // reads (and on PostgreSQL creates the stream's row) before the shared flow runs its own check, the choice of
      // path reads the expected version, and a NUL in an id would fail a statement. The batch is the shared flow's to
      // check, once.
      // Inside a caller's transaction the work runs on the caller's connection, which it cannot leave behind
      // without leaving that transaction in an unknown state: the caller's transaction bounds it.
      return Effect.flatMap(StoreBackend.validate(streamId, expected, noEvents), () =>
        request.inCallerTransaction
          ? work(request)
          : Deadline.append(work(request), { streamId, millis: appendTimeout, commitment: request.commitment }))
    })
}
