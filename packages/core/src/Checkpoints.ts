/**
 * Where named consumers of the global log keep their place and who runs them: one checkpoint per consumer name, a
 * position and a lease. A store keeps its consumers' checkpoints in its own database (a table for SQL, memory for
 * the memory store), so that a consumer's place lives and dies with the log it reads, and a consumer that projects
 * into the same database can commit its writes and its checkpoint together ({@link Service.transactional}).
 *
 * The lease makes one consumer name run in one place at a time: a holder `acquire`s it for a while and `renew`s it
 * before it ends; anyone else's `acquire` gets nothing until the holder `release`s it or lets it expire. Every save is
 * fenced: it writes only while the saver still holds the lease, so a holder that lost it can change nothing.
 * `Consumer.run` is the intended user; the service is public for stores to implement and for tools that inspect
 * checkpoints.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type { StoreError } from "./EventStoreError.js"
import * as internal from "./internal/checkpoints.js"
import type * as Position from "./Position.js"

/**
 * A consumer's checkpoint as stored: the position of the last event it has handled (`Position.start` before any),
 * and who holds its lease until when (in the store's clock, epoch milliseconds; `owner` is absent when the lease is
 * free).
 *
 * @since 0.2.0
 * @category models
 */
export interface Checkpoint {
  readonly consumer: string
  readonly position: Position.Position
  readonly owner: string | undefined
  readonly leaseUntil: number
}

/**
 * What taking a lease asks: the consumer's name, the taker's owner id (unique to one running instance), how long the
 * lease lasts, and where a consumer that has no checkpoint yet starts (stored as its first checkpoint).
 *
 * @since 0.2.0
 * @category models
 */
export interface AcquireRequest {
  readonly consumer: string
  readonly owner: string
  readonly leaseMillis: number
  readonly startAfter: Position.Position
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /**
   * Takes the consumer's lease for `owner` until `leaseMillis` from now (in the store's clock) if it is free, expired
   * or already `owner`'s, creating the checkpoint at `startAfter` if there is none, and returns the checkpoint's
   * position; `None` when someone else holds an unexpired lease. One atomic step: of two takers, one gets it.
   */
  readonly acquire: (request: AcquireRequest) => Effect.Effect<Option.Option<Position.Position>, StoreError>
  /**
   * Extends `owner`'s lease to `leaseMillis` from now; `false` when `owner` no longer holds it (it expired and
   * someone else took it), and then nothing changed.
   */
  readonly renew: (consumer: string, owner: string, leaseMillis: number) => Effect.Effect<boolean, StoreError>
  /**
   * Saves the consumer's position, fenced: only while `owner` holds the lease (`UPDATE … WHERE consumer = ? AND
   * owner = ?`); `false` when it does not, and then nothing changed. A checkpoint only moves forward: a position not
   * after the saved one (a save that timed out and reached the store after a later one) changes nothing, and the
   * answer is still `true` while `owner` holds the lease.
   */
  readonly save: (consumer: string, owner: string, position: Position.Position) => Effect.Effect<boolean, StoreError>
  /** Frees the lease if `owner` holds it (the position stays); does nothing otherwise. */
  readonly release: (consumer: string, owner: string) => Effect.Effect<void, StoreError>
  /** The consumer's checkpoint, `None` for a name never acquired. */
  readonly get: (consumer: string) => Effect.Effect<Option.Option<Checkpoint>, StoreError>
  /**
   * Runs an effect in one transaction of the checkpoint store, so that a `save` inside it commits or rolls back with
   * everything else the effect wrote to the same database: on SQL, a transaction of the store's `SqlClient` (writes
   * through that client inside it join it). In memory it is the effect itself: nothing there outlives the process,
   * and nothing the handler did is undone when a save fails.
   */
  readonly transactional: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
}

/**
 * @since 0.2.0
 * @category tags
 */
export class Checkpoints extends Context.Tag("@concord/core/Checkpoints")<Checkpoints, Service>() {}

/**
 * Checkpoints in memory, for the memory store and tests: each operation is one atomic step, leases are timed by the
 * Effect `Clock` (so `TestClock` moves them), and `transactional` is the effect itself.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory = (): Effect.Effect<Service> => internal.makeMemory

/**
 * Checkpoints in memory, fresh at each call (see {@link makeMemory}); provide it beside `EventStore.layerMemory()`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory = (): Layer.Layer<Checkpoints> => internal.layerMemory(Checkpoints)
