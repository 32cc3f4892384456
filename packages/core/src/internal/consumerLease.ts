import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Service as Checkpoints } from "../Checkpoints.js"
import { LeaseLost, LeaseUnavailable } from "../ConsumerError.js"
import { StoreError } from "../EventStoreError.js"
import * as Position from "../Position.js"
import type { Settings } from "./consumerOptions.js"

/**
 * A lease the consumer holds: where its checkpoint was when it took it, and the local time by which the consumer
 * must have stopped handling unless a renewal succeeds.
 *
 * @internal
 */
export interface Held {
  readonly position: Position.Position
  readonly deadline: number
}

/**
 * One call to the checkpoint store, bounded: a call that outlasts the lease is a `StoreError` naming it.
 *
 * @internal
 */
export const bounded = <A, E, R>(
  settings: Settings<any, any>,
  operation: string,
  call: Effect.Effect<A, E, R>
): Effect.Effect<A, E | StoreError, R> =>
  Effect.timeoutFail(call, {
    duration: settings.callTimeout,
    onTimeout: () =>
      new StoreError({
        operation: `${operation} of consumer ${settings.name}`,
        cause: new Error(`no answer within ${settings.leaseMillis} ms`)
      })
  })

/**
 * The local time by which a lease taken or renewed by a call sent at `sentAt` must no longer be relied on. The store
 * set the lease's end by its own clock when the call reached it, no earlier than `sentAt` on ours; the margin leaves
 * the handler time to stop before anyone else may take over.
 */
const deadlineAfter = (settings: Settings<any, any>, sentAt: number) =>
  sentAt + settings.leaseMillis - settings.marginMillis

/**
 * Waits for the consumer's lease, trying again by the `waitForLease` schedule while someone else holds it, and
 * fails with `LeaseUnavailable` when the schedule ends. Before the first try it registers, in the scope, the release
 * (after `beforeRelease`, which saves the progress not yet saved): both are fenced by the owner, so they are harmless
 * when the lease was never taken, and they run however the consumer ends, even interrupted while waiting or between a
 * taken lease and its answer.
 *
 * @internal
 */
export const acquire = <R>(
  checkpoints: Checkpoints,
  settings: Settings<any, R>,
  beforeRelease: Effect.Effect<void>
): Effect.Effect<Held, LeaseUnavailable | StoreError, R | Scope.Scope> =>
  Effect.gen(function*() {
    yield* Effect.addFinalizer(() =>
      beforeRelease.pipe(
        Effect.zipRight(bounded(settings, "release the lease", checkpoints.release(settings.name, settings.owner))),
        Effect.tap(() => Effect.logDebug("released the lease")),
        Effect.catchAllCause((cause) => Effect.logWarning("could not release the lease; it ends on its own", cause))
      )
    )
    const waiting = yield* Schedule.driver(settings.waitForLease)
    while (true) {
      const sentAt = yield* Clock.currentTimeMillis
      const taken = yield* bounded(
        settings,
        "take the lease",
        checkpoints.acquire({
          consumer: settings.name,
          owner: settings.owner,
          leaseMillis: settings.leaseMillis,
          startAfter: settings.startAfter
        })
      )
      if (Option.isSome(taken)) {
        yield* Effect.logInfo("took the lease").pipe(Effect.annotateLogs("position", Position.toString(taken.value)))
        return { position: taken.value, deadline: deadlineAfter(settings, sentAt) }
      }
      const again = yield* Effect.either(waiting.next(undefined))
      if (Either.isLeft(again)) {
        const holder = yield* Effect.option(checkpoints.get(settings.name))
        return yield* new LeaseUnavailable({
          consumer: settings.name,
          owner: settings.owner,
          holder: Option.getOrUndefined(Option.flatMap(Option.flatten(holder), (row) => Option.fromNullable(row.owner)))
        })
      }
    }
  })

/**
 * Keeps the lease: renews it every heartbeat, and fails with `LeaseLost` when a renewal finds another owner or when
 * no renewal succeeded before the deadline. A renewal the store fails is tried again while there is time. It never
 * succeeds: run it alongside the handling, which its failure interrupts before the lease can end.
 *
 * @internal
 */
export const keep = (
  checkpoints: Checkpoints,
  settings: Settings<any, any>,
  held: Held
): Effect.Effect<never, LeaseLost> =>
  Effect.gen(function*() {
    const lost = (reason: "taken" | "lapsed") =>
      new LeaseLost({ consumer: settings.name, owner: settings.owner, reason })
    let deadline = held.deadline
    let renewedAt = deadline - settings.leaseMillis + settings.marginMillis
    while (true) {
      const now = yield* Clock.currentTimeMillis
      yield* Effect.sleep(Math.max(0, Math.min(renewedAt + settings.heartbeatMillis, deadline) - now))
      while (true) {
        const sentAt = yield* Clock.currentTimeMillis
        if (sentAt >= deadline) return yield* lost("lapsed")
        const renewed = yield* checkpoints.renew(settings.name, settings.owner, settings.leaseMillis).pipe(
          Effect.timeoutOption(deadline - sentAt),
          Effect.either
        )
        if (Either.isRight(renewed)) {
          if (Option.isNone(renewed.right)) return yield* lost("lapsed")
          if (!renewed.right.value) return yield* lost("taken")
          renewedAt = sentAt
          deadline = deadlineAfter(settings, sentAt)
          break
        }
        yield* Effect.logWarning("could not renew the lease; trying again before it ends", renewed.left)
        const after = yield* Clock.currentTimeMillis
        yield* Effect.sleep(Math.max(0, Math.min(settings.heartbeatMillis / 4, deadline - after)))
      }
    }
  })
