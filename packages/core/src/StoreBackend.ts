/**
 * For authors of stores: the append semantics every Concord store shares (validation of every argument, idempotency by
 * event id, version checks, conflict detection over only the relevant committed events, atomic batches), written once against
 * a small backend that a store implements inside its per-stream critical section.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Stream from "effect/Stream"
import type { ConflictRegistry } from "./ConflictRegistry.js"
import type * as Event from "./Event.js"
import type {
  AppendError,
  AppendResult,
  DuplicateEventId,
  InvalidArgument,
  InvalidEventData,
  ReadAllOptions,
  StoreError,
  SubscribeOptions
} from "./EventStore.js"
import type { ExpectedVersion } from "./ExpectedVersion.js"
import * as internal from "./internal/append.js"
import * as internalSubscription from "./internal/subscription.js"
import * as validation from "./internal/validation.js"
import type { StreamId } from "./StreamId.js"

/**
 * Where a stored event id lives and the result of the append that stored it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredId extends internal.StoredId {}

/**
 * What a store offers inside its per-stream critical section: nothing else may append to the stream between
 * `currentVersion` (called first; it may take the lock) and `write`. `E` is any extra failure of `write` the store
 * handles itself (such as a lost race it retries).
 *
 * @since 0.1.0
 * @category models
 */
export interface Backend<E = never> extends internal.Backend<E> {}

/**
 * Checks an append before anything is read or written, whatever the caller's types said, as `append` does first:
 *
 * - the stream id is one `StreamId` accepts (1 to 512 characters, no NUL, no unpaired UTF-16 surrogate), else
 *   `InvalidArgument`;
 * - the expected version is `Any`, or `Exact` with a whole number from 0 to `StreamVersion.max`, else
 *   `InvalidArgument`;
 * - every event's type (1 to 256 characters) and id (1 to 128) are text every store keeps exactly, and its data and
 *   metadata are values JSON carries exactly (no NUL or unpaired surrogate in a string or key, no `NaN`, infinity,
 *   `undefined`, bigint, function, symbol, cycle or object that is not plain), else `InvalidEventData` with the
 *   event's index;
 * - no id appears twice in the batch, else `DuplicateEventId`.
 *
 * A store whose critical section reads before `append` runs (a lock that reads the version) calls it first; with
 * no events it checks the stream id and the expected version alone.
 *
 * @since 0.1.0
 * @category appending
 */
export const validate: (
  streamId: StreamId,
  expectedVersion: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
) => Effect.Effect<void, InvalidArgument | InvalidEventData | DuplicateEventId> = validation.validate

/**
 * Checks the stream id a store's `read` or `version` was given, before anything is read: one `StreamId` accepts,
 * else `InvalidArgument` naming the operation. Every store calls it, so that a string cast to `StreamId` fails alike
 * on all of them.
 *
 * @since 0.1.0
 * @category reading
 */
export const validateStreamId: (
  operation: "read" | "version",
  streamId: StreamId
) => Effect.Effect<void, InvalidArgument> = validation.validateStreamId

/**
 * Checks the options of `readAll` or `subscribe` before anything is read, whatever the caller's types said: `after` is
 * a `Position` (or `"end"` for `subscribe`), `limit` a number, and a filter's `types` and `categories` arrays of
 * strings, else `InvalidArgument` naming the operation. `readAll` and `subscribe` below call it; a store or client that
 * reads the global log its own way (over HTTP) calls it first, so that bad options fail alike everywhere.
 *
 * @since 0.2.0
 * @category reading
 */
export const validateReadAll: (
  operation: "readAll" | "subscribe",
  options: { readonly after?: unknown; readonly limit?: unknown; readonly filter?: unknown } | undefined
) => Effect.Effect<void, InvalidArgument> = validation.validateReadAll

/**
 * Runs one append against a backend, inside the store's critical section: {@link validate} first, so nothing is asked
 * of the backend for an append it refuses.
 *
 * @since 0.1.0
 * @category appending
 */
export const append: <E>(
  backend: Backend<E>,
  registry: ConflictRegistry<any, any>,
  streamId: StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
) => Effect.Effect<AppendResult, AppendError | E> = internal.append

/**
 * A backend whose operations complete at once (a synchronous driver under a write lock the store already holds): the
 * whole append then runs as one synchronous step.
 *
 * @since 0.3.0
 * @category models
 */
export interface SyncBackend extends internal.SyncBackend {}

/**
 * The same semantics as {@link append}, run synchronously against a {@link SyncBackend}: {@link validate}'s checks
 * first, then the version check, idempotency and conflict detection; the records' time is the given `Clock`'s. A store
 * that gathers many appends into one transaction (group commit) runs each through it, inside a savepoint of its own.
 *
 * @since 0.3.0
 * @category appending
 */
export const appendSync: (
  backend: SyncBackend,
  clock: Clock.Clock,
  registry: ConflictRegistry<any, any>,
  streamId: StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
) => Either.Either<AppendResult, AppendError> = internal.appendSync

/**
 * An event the shared append built for a backend to write: all a recorded event has but its position, which the
 * backend's write assigns.
 *
 * @since 0.2.0
 * @category models
 */
export type PendingEvent = internal.PendingEvent

// -----------------------------------------------------------------------------
// the read side
// -----------------------------------------------------------------------------

/**
 * One read of the global log: the matching events after a position, in log order, and `through`, a position up to
 * which nothing matching was left out (at least the last event's, or the read's `after` when it found none). A store
 * that knows how far it looked says so, sparing filtered subscribers a rescan.
 *
 * @since 0.2.0
 * @category models
 */
export interface Page extends internalSubscription.Page {}

/**
 * Wakes a store's subscribers when something was committed: the store calls `notify` after each commit; a subscriber
 * `mark`s before it reads, and the effect it got completes at the first commit after the mark, so none is missed.
 *
 * @since 0.2.0
 * @category models
 */
export interface CommitSignal extends internalSubscription.CommitSignal {}

/**
 * A fresh {@link CommitSignal}; notifying it costs nothing while no one waits.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeCommitSignal: () => CommitSignal = internalSubscription.makeCommitSignal

/**
 * What a store implements for the read side: pages of its global log (only events no later commit can precede), the
 * end a reader can see now, a commit signal, and how often to read anyway when the signal cannot see every commit.
 *
 * @since 0.2.0
 * @category models
 */
export interface LiveLog extends internalSubscription.LiveLog {}

/**
 * `EventStore.Service.readAll` for a store, by the rule every store shares: options checked, then pages read as the
 * caller pulls.
 *
 * @since 0.2.0
 * @category reading
 */
export const readAll: (
  log: LiveLog,
  options?: ReadAllOptions
) => Stream.Stream<Event.RecordedEvent, StoreError | InvalidArgument> = internalSubscription.readAll

/**
 * `EventStore.Service.subscribe` for a store, by the rule every store shares: options checked, the log read page by
 * page as the subscriber pulls, and at its end a wait for the commit signal (or the poll interval), marked before each
 * read so that no commit is missed. Nothing is buffered but the page being delivered.
 *
 * @since 0.2.0
 * @category reading
 */
export const subscribe: (
  log: LiveLog,
  options?: SubscribeOptions
) => Stream.Stream<Event.RecordedEvent, StoreError | InvalidArgument> = internalSubscription.subscribe
