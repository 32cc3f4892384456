import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Conflict from "../Conflict.js"
import type * as ConflictRegistry from "../ConflictRegistry.js"
import type * as Event from "../Event.js"
import type { AppendError, AppendResult } from "../EventStore.js"
import type { DuplicateEventId, StoreError } from "../EventStoreError.js"
import type { ExpectedVersion } from "../ExpectedVersion.js"
import type * as StreamId from "../StreamId.js"
import type * as StreamVersion from "../StreamVersion.js"
import * as Rules from "./appendRules.js"
import { problem } from "./validation.js"

/** @internal */
export type StoredId = Rules.StoredId

/** @internal */
export type PendingEvent = Rules.PendingEvent

/**
 * What a backend offers inside its per-stream critical section: nothing else may append to the stream between
 * `currentVersion` (the first call, which may take the lock) and `write`.
 *
 * @internal
 */
export interface Backend<E = never> {
  readonly currentVersion: Effect.Effect<StreamVersion.StreamVersion, StoreError>
  /**
   * Committed events with a version above `version`, in order. Events whose type is in `except` cannot clash with
   * the batch: a backend may leave them out (`type NOT IN except`) or return them all. It is an exclusion list, not
   * a list of types to read, because committed events of types the registry does not know clash with every rule.
   */
  readonly committedAfter: (
    version: StreamVersion.StreamVersion,
    except: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Conflict.Committed>, StoreError>
  readonly findIds: (ids: ReadonlyArray<Event.EventId>) => Effect.Effect<ReadonlyArray<StoredId>, StoreError>
  readonly write: (
    events: ReadonlyArray<PendingEvent>,
    batch: AppendResult
  ) => Effect.Effect<void, StoreError | DuplicateEventId | E>
}

// The shared append is written twice, step for step alike: as Effects for a backend whose operations are Effects,
// and as plain calls for one whose operations complete at once. Every decision between the steps is a function of
// appendRules.ts that both take, so the two differ only in how they ask the backend.

/**
 * The append semantics every store shares, run inside the backend's per-stream critical section.
 *
 * @internal
 */
export const append = <E>(
  backend: Backend<E>,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<AppendResult, AppendError | E> =>
  Effect.suspend(() => {
    const invalid = problem(streamId, expected, events)
    if (invalid !== undefined) return Effect.fail(invalid)
    return Effect.flatMap(backend.currentVersion, (current) => {
      const ids = Rules.idsOf(events)
      return ids === undefined ? checked(backend, registry, streamId, expected, current, events) : Effect.flatMap(
        backend.findIds(ids),
        (stored) =>
          stored.length > 0
            ? Rules.replay(streamId, events, stored)
            : checked(backend, registry, streamId, expected, current, events)
      )
    })
  })

/** The rest of `append` once no stored id was found: the version check, conflict detection, the write. */
const checked = <E>(
  backend: Backend<E>,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  current: StreamVersion.StreamVersion,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<AppendResult, AppendError | E> => {
  const stale = Rules.staleness(registry, streamId, expected, current, events)
  if (stale === undefined) return written(backend, streamId, expected, current, events)
  if (stale._tag === "Ahead") return Effect.fail(stale.error)
  return Effect.flatMap(backend.committedAfter(stale.version, stale.except), (committed): Effect.Effect<
    AppendResult,
    AppendError | E
  > => {
    const clash = Rules.conflict(registry, streamId, stale.version, current, events, committed)
    return clash === undefined ? written(backend, streamId, expected, current, events) : Effect.fail(clash)
  })
}

/** The write of a batch let through at `current`, timed by the fiber's Clock. */
const written = <E>(
  backend: Backend<E>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  current: StreamVersion.StreamVersion,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<AppendResult, StoreError | DuplicateEventId | E> => {
  const batch = Rules.accepted(streamId, expected, current, events.length)
  if (events.length === 0) return Effect.succeed(batch)
  return Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.as(
      backend.write(Rules.pendingEvents(streamId, current, events, new Date(now)), batch),
      batch
    ))
}

/**
 * What a synchronous backend reads inside an append: the version of a stream, its committed events after a version,
 * and where stored ids live.
 *
 * @internal
 */
export interface SyncReads {
  readonly currentVersion: (stream: StreamId.StreamId) => StreamVersion.StreamVersion
  readonly committedAfter: (
    stream: StreamId.StreamId,
    version: StreamVersion.StreamVersion,
    except: ReadonlyArray<string>
  ) => ReadonlyArray<Conflict.Committed>
  readonly findIds: (ids: ReadonlyArray<Event.EventId>) => ReadonlyArray<StoredId>
}

/**
 * A backend whose operations complete at once: the whole append then runs as one synchronous step, which no other
 * fiber can interleave with (JavaScript runs one thing at a time), so it needs no lock.
 *
 * @internal
 */
export interface SyncBackend extends SyncReads {
  readonly write: (stream: StreamId.StreamId, events: ReadonlyArray<PendingEvent>, batch: AppendResult) => void
}

/**
 * How a synchronous store writes a batch the append let through: its events as the caller gave them, to go after
 * `current`, recorded at `recordedAt` (milliseconds), with the append's result. A store that keeps events its own way
 * builds them from these directly, with no {@link PendingEvent} in between; `Rules.idOf` gives each its id.
 *
 * @internal
 */
export type WriteBatch<B> = (
  backend: B,
  stream: StreamId.StreamId,
  current: StreamVersion.StreamVersion,
  events: ReadonlyArray<Event.EventData>,
  recordedAt: number,
  batch: AppendResult
) => void

/**
 * The same semantics as `append`, run synchronously against a synchronous backend; the time of the records is the
 * given Clock's.
 *
 * @internal
 */
export const appendSync = (
  backend: SyncBackend,
  clock: Clock.Clock,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Either.Either<AppendResult, AppendError> =>
  appendSyncWith(backend, writePending, clock, registry, streamId, expected, events)

const writePending: WriteBatch<SyncBackend> = (backend, stream, current, events, recordedAt, batch) =>
  backend.write(stream, Rules.pendingEvents(stream, current, events, new Date(recordedAt)), batch)

/**
 * `appendSync` with the write given apart from the reads.
 *
 * @internal
 */
export const appendSyncWith = <B extends SyncReads>(
  backend: B,
  writeBatch: WriteBatch<B>,
  clock: Clock.Clock,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Either.Either<AppendResult, AppendError> => {
  const invalid = problem(streamId, expected, events)
  if (invalid !== undefined) return Either.left(invalid)
  const current = backend.currentVersion(streamId)
  const ids = Rules.idsOf(events)
  if (ids !== undefined) {
    const stored = backend.findIds(ids)
    if (stored.length > 0) return Rules.replay(streamId, events, stored)
  }
  const stale = Rules.staleness(registry, streamId, expected, current, events)
  if (stale !== undefined) {
    if (stale._tag === "Ahead") return Either.left(stale.error)
    const committed = backend.committedAfter(streamId, stale.version, stale.except)
    const clash = Rules.conflict(registry, streamId, stale.version, current, events, committed)
    if (clash !== undefined) return Either.left(clash)
  }
  const batch = Rules.accepted(streamId, expected, current, events.length)
  if (events.length > 0) writeBatch(backend, streamId, current, events, clock.unsafeCurrentTimeMillis(), batch)
  return Either.right(batch)
}
