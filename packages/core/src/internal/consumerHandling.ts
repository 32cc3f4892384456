import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { Service as Checkpoints } from "../Checkpoints.js"
import { HandlerFailed, LeaseLost } from "../ConsumerError.js"
import type { RecordedEvent } from "../Event.js"
import type { Service as EventStore } from "../EventStore.js"
import type { InvalidArgument, StoreError } from "../EventStoreError.js"
import * as Position from "../Position.js"
import { bounded } from "./consumerLease.js"
import type { Settings } from "./consumerOptions.js"
import type { CheckpointTelemetry } from "./telemetryConsumers.js"

/**
 * How far a consumer got: the last event its handler finished (absent before any in this run) and the last position
 * it saved. `handled` is never behind what the store holds as saved by this run, so saving it is never a step back.
 *
 * @internal
 */
export interface Progress {
  readonly handled: Position.Position | undefined
  readonly saved: Position.Position
}

/** The handler failed on an event: kept apart from the consumer's own errors, so that only it is retried. */
class HandlerFailure<E> {
  readonly _tag = "HandlerFailure"
  constructor(readonly event: RecordedEvent, readonly cause: Cause.Cause<E>) {}
}

/** One run of the handler on one event; its failures and defects become a `HandlerFailure`, interruption stays. */
const attempt = <E, R>(settings: Settings<E, R>, event: RecordedEvent) =>
  settings.handle(event).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.fail(new HandlerFailure(event, cause))
    )
  )

/**
 * Runs `once` until it succeeds, running it again after a handler's failure as the retry schedule says. A defect is
 * not retried. When the schedule ends the consumer stops with `HandlerFailed` naming the event; the consumer's own
 * errors (a lost lease, a store that failed) stop it at once.
 */
const withRetry = <A, E, E2, R>(
  settings: Settings<E, R>,
  once: Effect.Effect<A, E2, R>
): Effect.Effect<A, HandlerFailed | Exclude<E2, HandlerFailure<E>>, R> =>
  Effect.gen(function*() {
    const retries = yield* Schedule.driver(settings.retry)
    for (let attempts = 1;; attempts++) {
      const exit = yield* Effect.exit(once)
      if (Exit.isSuccess(exit)) return exit.value
      const failure = Cause.failureOption(exit.cause)
      if (Option.isNone(failure) || !(failure.value instanceof HandlerFailure)) {
        return yield* Effect.failCause(exit.cause as Cause.Cause<Exclude<E2, HandlerFailure<E>>>)
      }
      const { cause, event } = failure.value as HandlerFailure<E>
      const error = Cause.failureOption(cause)
      const again = Option.isSome(error) && !Cause.isDie(cause)
        ? yield* Effect.either(retries.next(error.value))
        : Either.left(undefined)
      if (Either.isLeft(again)) {
        return yield* new HandlerFailed({
          consumer: settings.name,
          eventId: event.id,
          streamId: event.streamId,
          version: event.version,
          type: event.type,
          position: event.position,
          attempts,
          cause: Cause.squash(cause)
        })
      }
      yield* Effect.logWarning(`the handler failed on event ${event.id}; trying again`, cause).pipe(
        Effect.annotateLogs({ position: Position.toString(event.position), attempts })
      )
    }
  })

/**
 * Handles the log after `from` as the settings say, until something stops it (it never ends on its own):
 *
 * - one by one: each event handled (and retried) as soon as it arrives; the last handled position saved, fenced,
 *   after every `checkpointEvents` events, and by a flusher every `checkpointWithin` when some are left unsaved;
 * - transactional: the events already read, in groups of up to `checkpointEvents` (never waiting for more), each
 *   group handled and its last position saved in one transaction of the checkpoint store, the whole transaction
 *   retried on a handler's failure.
 *
 * @internal
 */
export const consume = <E, R>(
  store: EventStore,
  checkpoints: Checkpoints,
  settings: Settings<E, R>,
  from: Position.Position,
  progress: Ref.Ref<Progress>,
  telemetry: CheckpointTelemetry
): Effect.Effect<never, HandlerFailed | LeaseLost | StoreError | InvalidArgument, R> =>
  Effect.gen(function*() {
    const fencedSave = (position: Position.Position) =>
      bounded(settings, "save the checkpoint", checkpoints.save(settings.name, settings.owner, position)).pipe(
        Effect.filterOrFail(
          (saved) => saved,
          () => new LeaseLost({ consumer: settings.name, owner: settings.owner, reason: "taken" })
        )
      )
    const events = store.subscribe({ after: from, filter: settings.filter })
    const ended = Effect.dieMessage("the store's subscription ended, which a subscription never does")

    if (settings.transactional) {
      const together = (group: Chunk.Chunk<RecordedEvent>) => {
        if (!Chunk.isNonEmpty(group)) return Effect.void
        const last = Chunk.lastNonEmpty(group).position
        const transaction = checkpoints.transactional(
          Effect.zipRight(
            Effect.forEach(group, (event) => attempt(settings, event), { discard: true }),
            fencedSave(last)
          )
        )
        // Counted once the transaction committed: a group retried after a handler's failure is one checkpoint.
        return Effect.zipRight(
          withRetry(settings, transaction),
          Effect.zipRight(Ref.set(progress, { handled: last, saved: last }), Effect.sync(() => telemetry.saved(last)))
        )
      }
      return yield* Stream.chunks(events).pipe(
        Stream.mapConcat((chunk) => Chunk.chunksOf(chunk, settings.checkpointEvents)),
        Stream.runForEach(together),
        Effect.zipRight(ended)
      )
    }

    // The foreground and the flusher save one at a time, each the latest handled position: never a step back.
    const saving = yield* Effect.makeSemaphore(1)
    const saveHandled = saving.withPermits(1)(Effect.flatMap(Ref.get(progress), ({ handled, saved }) =>
      handled === undefined || !Position.isAfter(handled, saved)
        ? Effect.void
        : fencedSave(handled).pipe(
          Effect.zipRight(Ref.update(progress, (now) => ({ ...now, saved: handled }))),
          Effect.zipRight(Effect.sync(() => telemetry.saved(handled)))
        )))
    let unsaved = 0
    const handleOne = (event: RecordedEvent) =>
      withRetry(settings, attempt(settings, event)).pipe(
        Effect.zipRight(Ref.update(progress, (now) => ({ ...now, handled: event.position }))),
        Effect.zipRight(Effect.suspend(() => {
          if (++unsaved < settings.checkpointEvents) {
            return Effect.void
          }
          unsaved = 0
          return saveHandled
        }))
      )
    const handling = Effect.zipRight(Stream.runForEach(events, handleOne), ended)
    if (settings.checkpointEvents === 1) {
      return yield* handling
    }
    const flusher = Effect.forever(Effect.zipRight(Effect.sleep(settings.checkpointWithin), saveHandled))
    return yield* Effect.raceFirst(handling, flusher)
  })
