import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { Checkpoints } from "../Checkpoints.js"
import type { ConsumerError } from "../ConsumerError.js"
import { EventStore } from "../EventStore.js"
import type { InvalidArgument, StoreError } from "../EventStoreError.js"
import * as Position from "../Position.js"
import * as Handling from "./consumerHandling.js"
import * as Lease from "./consumerLease.js"
import * as ConsumerOptions from "./consumerOptions.js"
import * as ConsumerTelemetry from "./telemetryConsumers.js"

/** @internal */
export const run = <E, R>(
  options: ConsumerOptions.Options<E, R>
): Effect.Effect<never, ConsumerError | StoreError | InvalidArgument, R | EventStore | Checkpoints> =>
  Effect.gen(function*() {
    const settings = yield* ConsumerOptions.settings(options)
    const store = yield* EventStore
    const checkpoints = yield* Checkpoints
    const progress = yield* Ref.make<Handling.Progress>({ handled: undefined, saved: Position.start })
    const telemetry = ConsumerTelemetry.forConsumer(settings.name)
    // Whatever stops the consumer, the events it handled since its last save are saved (fenced: not if it lost the
    // lease) before the lease is released, so the next holder repeats as few as it can.
    const saveHandled = Effect.flatMap(
      Ref.get(progress),
      ({ handled, saved }) =>
        handled === undefined || !Position.isAfter(handled, saved)
          ? Effect.void
          : Lease.bounded(settings, "save the checkpoint", checkpoints.save(settings.name, settings.owner, handled))
            .pipe(
              Effect.tap((stored) => {
                if (stored) telemetry.saved(handled)
              })
            )
    )
      .pipe(Effect.catchAllCause((cause) => Effect.logWarning("could not save the last handled position", cause)))
    return yield* Effect.scoped(Effect.gen(function*() {
      const held = yield* Lease.acquire(checkpoints, settings, saveHandled)
      yield* Ref.set(progress, { handled: undefined, saved: held.position })
      telemetry.holds(held.position)
      // The keeper fails before the lease can end unless renewals succeed; its failure interrupts the handling.
      return yield* Effect.raceFirst(
        Handling.consume(store, checkpoints, settings, held.position, progress, telemetry),
        Lease.keep(checkpoints, settings, held)
      )
    })).pipe(
      Effect.tapErrorCause((cause) => Effect.logInfo("the consumer stopped", cause)),
      Effect.annotateLogs({ consumer: settings.name, owner: settings.owner })
    )
  }).pipe(Effect.withSpan("Consumer.run", { attributes: { consumer: options.name } }))
