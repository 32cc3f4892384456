/**
 * For authors of stores: the append semantics every Concord store shares (validation, idempotency by event id,
 * version checks, conflict detection over only the relevant committed events, atomic batches), written once against
 * a small backend that a store implements inside its per-stream critical section.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { ConflictRegistry } from "./ConflictRegistry.js"
import type * as Event from "./Event.js"
import type { AppendError, AppendResult, DuplicateEventId, InvalidEventData } from "./EventStore.js"
import type { ExpectedVersion } from "./ExpectedVersion.js"
import * as internal from "./internal/append.js"
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
 * Checks a batch before anything is read: types and ids that every store keeps exactly, ids unique within it, data
 * and metadata that JSON carries exactly.
 *
 * @since 0.1.0
 * @category appending
 */
export const validate: (
  streamId: StreamId,
  events: ReadonlyArray<Event.EventData>
) => Effect.Effect<void, InvalidEventData | DuplicateEventId> = internal.validate

/**
 * Runs one append against a backend, inside the store's critical section.
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
