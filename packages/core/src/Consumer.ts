/**
 * Named, durable consumers of a store's global log: a handler that sees every matching event in log order, keeps its
 * place in a checkpoint in the store's own database, resumes there after a restart, and runs in one place at a time
 * however many processes start it.
 *
 * - At least once: a checkpoint is saved only after the events before it were handled, so a consumer that stops
 *   (crashes, loses its lease, is interrupted) hands its successor at most the events handled since its last save
 *   again, never a gap. A failing handler is tried again by the `retry` schedule; when that ends the consumer stops
 *   at the event with `HandlerFailed` and never skips it.
 * - Exactly once into the same database: with `transactional`, the handler's writes and the checkpoint's save commit
 *   in one transaction of the checkpoint store (on SQL, the store's `SqlClient`), so a projection there sees each
 *   event once.
 * - One holder: a consumer runs under a lease on its name. Another process starting the same name waits (polling by
 *   `waitForLease`) and takes over when the holder releases the lease or dies and lets it expire. The holder renews
 *   the lease every `heartbeat` and stops handling, with `LeaseLost`, before its lease could end without a renewal;
 *   every save is fenced by the lease, so a holder that lost it changes nothing.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Checkpoints from "./Checkpoints.js"
import type { ConsumerError } from "./ConsumerError.js"
import type * as Event from "./Event.js"
import type { EventStore, Filter } from "./EventStore.js"
import type { InvalidArgument, StoreError } from "./EventStoreError.js"
import * as internal from "./internal/consumer.js"
import type * as Position from "./Position.js"

/**
 * The consumer's errors, defined in `ConsumerError` and named here too.
 *
 * @since 0.2.0
 * @category errors
 */
export {
  type ConsumerError,
  HandlerFailed,
  InvalidOptions,
  isConsumerError,
  isHandlerFailed,
  isInvalidOptions,
  isLeaseLost,
  isLeaseUnavailable,
  LeaseLost,
  LeaseUnavailable
} from "./ConsumerError.js"

/**
 * Every way a consumer stops other than interruption: its own errors, the store failing (reading the log or the
 * checkpoints), and a filter the store refuses.
 *
 * @since 0.2.0
 * @category errors
 */
export type RunError = ConsumerError | StoreError | InvalidArgument

/**
 * What a consumer does and how. Only `name` and `handle` are required.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options<E, R> {
  /** The consumer's name: its checkpoint and its lease (1 to 256 characters, no NUL). */
  readonly name: string
  /**
   * Handles one event. It may see an event again after a crash, a lost lease or a stop before the checkpoint was
   * saved (unless `transactional`, for writes to the checkpoint store's database), so it should be idempotent.
   */
  readonly handle: (event: Event.RecordedEvent) => Effect.Effect<unknown, E, R>
  /** Which events the consumer sees (`EventStore.Filter`; default: all). Its checkpoint moves past the others. */
  readonly filter?: Filter | undefined
  /**
   * How a failing handler is tried again on the same event (its input is the handler's error; default: 4 more times,
   * exponentially from 100 ms). When the schedule ends, the consumer stops with `HandlerFailed` at that event. A
   * defect (a die) is not retried.
   */
  readonly retry?: Schedule.Schedule<unknown, E, R> | undefined
  /**
   * Where a consumer that has no checkpoint yet starts: after this position (default `Position.start`, the whole
   * log). It is saved as the checkpoint when the lease is first taken; once a checkpoint exists it is ignored. To
   * follow only new events, pass the position of the last event already seen.
   */
  readonly startAfter?: Position.Position | undefined
  /**
   * How often the checkpoint is saved (default: after every event). With `events: n`, after every n handled events,
   * and `within` (default 1 second) after handling when fewer are left unsaved; events are handled as they arrive
   * either way. Fewer saves are faster; the price is that a consumer that stops without saving (a crash) hands up to
   * n events to its successor again. With `transactional`, the events already read are handled in transactions of
   * up to n events each, never waiting for more (`within` does not apply).
   */
  readonly checkpointEvery?: {
    readonly events?: number | undefined
    readonly within?: Duration.DurationInput | undefined
  } | undefined
  /**
   * Runs the handling of each group of events and the checkpoint's save in one transaction of the checkpoint store
   * (`Checkpoints.Service.transactional`), retried as a whole on a handler's failure; default false. On SQL, writes
   * the handler makes through the store's `SqlClient` commit with the checkpoint or not at all: a projection into
   * the same database is exactly once. In memory it changes nothing.
   */
  readonly transactional?: boolean | undefined
  /**
   * How long a lease lasts without renewal (default 30 seconds): how long a dead holder blocks the others, and how
   * long the store may be unreachable before the holder stops. The holder stops handling a fifth of it before its
   * lease could end.
   */
  readonly lease?: Duration.DurationInput | undefined
  /** How often the holder renews its lease (default a third of `lease`; at most half of it). */
  readonly heartbeat?: Duration.DurationInput | undefined
  /**
   * How a consumer whose lease someone else holds tries again (default: every `heartbeat`, for ever). When the
   * schedule ends, the consumer fails with `LeaseUnavailable`.
   */
  readonly waitForLease?: Schedule.Schedule<unknown, void, R> | undefined
  /**
   * The id this running consumer holds the lease under (default: a random UUID), shown in logs and errors. It must be
   * unique to one running instance: two instances with the same owner would both hold the lease.
   */
  readonly owner?: string | undefined
}

/**
 * Runs a consumer until it is interrupted or stops with an error; it never succeeds. It waits for its lease, then
 * subscribes to the store's log after its checkpoint (`EventStore.subscribe({ after, filter })`) and handles each
 * event in order, saving the checkpoint as `checkpointEvery` says. Interrupting it saves the events handled since
 * the last save (fenced), releases the lease and ends the subscription.
 *
 * Options that are not what their documentation says (an empty name, a heartbeat longer than half the lease, …),
 * whatever the caller's types said, fail with `InvalidOptions` naming the option before anything is read or taken.
 *
 * @example
 * import { Checkpoints, Consumer, EventStore } from "@concord/core"
 * import { Effect, Layer } from "effect"
 *
 * const consumer = Consumer.run({
 *   name: "invoice-totals",
 *   filter: { categories: ["invoice"] },
 *   handle: (event) => Effect.log(`${event.type} at ${event.streamId}`)
 * })
 *
 * consumer.pipe(
 *   Effect.provide(Layer.merge(EventStore.layerMemory(), Checkpoints.layerMemory())),
 *   Effect.runFork
 * )
 *
 * @since 0.2.0
 * @category running
 */
export const run: <E, R>(
  options: Options<E, R>
) => Effect.Effect<never, RunError, R | EventStore | Checkpoints.Checkpoints> = internal.run

/**
 * A consumer's checkpoint as stored: its position and who holds its lease until when; `None` for a name that never
 * ran.
 *
 * @since 0.2.0
 * @category reading
 */
export const checkpoint = (
  name: string
): Effect.Effect<Option.Option<Checkpoints.Checkpoint>, StoreError, Checkpoints.Checkpoints> =>
  Effect.flatMap(Checkpoints.Checkpoints, (checkpoints) => checkpoints.get(name))
