// Work that must not hold its caller past a deadline: the service's requests and the typed client's requests.
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/**
 * Runs `effect` for at most `duration` without waiting for it past that, as `Effect.disconnect` does: it runs in a
 * fiber of its own, and when the time is up (or the caller is interrupted) that fiber is told to stop and left to end
 * alone; an uninterruptible part of it, such as a store call, goes on in the background. With `interruptAbandoned`
 * returning false at the deadline, the fiber is left running instead, for what will end it anyway. Interruptible even
 * where the caller is not, as in an HTTP handler's fiber.
 *
 * @internal
 */
export const abandonAfter = <A, E, R, B, E2>(
  effect: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => Effect.Effect<B, E2>,
  options?: { readonly interruptAbandoned?: () => boolean }
): Effect.Effect<A | B, E | E2, R> =>
  Effect.uninterruptibleMask(() =>
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(effect)), (fiber) =>
      // Waiting on the fiber, not running it: a timeout or an interruption here stops the waiting at once.
      Fiber.join(fiber).pipe(
        Effect.timeoutTo({
          duration,
          onSuccess: (value): Effect.Effect<A | B, E2> => Effect.succeed(value),
          onTimeout: (): Effect.Effect<A | B, E2> =>
            Effect.zipRight(
              options?.interruptAbandoned?.() === false ? Effect.void : Fiber.interruptFork(fiber),
              Effect.suspend(onTimeout)
            )
        }),
        Effect.interruptible,
        Effect.onInterrupt(() => Fiber.interruptFork(fiber)),
        Effect.flatten
      ))
  )
