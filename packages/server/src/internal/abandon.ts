// Work that must not hold its caller past a deadline: the service's requests and the typed client's requests.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

/** The clock of the default services: its sleeps are Node's timers, which a wait may set itself. */
const liveClock = Effect.runSync(Effect.clock)

/** The longest delay of Node's timers: a longer one runs at once, so it is no deadline but none at all. */
const maxTimerMillis = 2 ** 31 - 1

/**
 * The exit of a fiber, or `None` when it has not ended within `duration`. On the default clock, one timer and one
 * observer of the fiber: a request waits this way on every call, where a race of the fiber against a sleep would fork
 * two fibers more and merge their fiber-local state back. On any other clock (a test's), a race against its sleep.
 */
const awaitAtMost = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  duration: Duration.Duration
): Effect.Effect<Option.Option<Exit.Exit<A, E>>> =>
  Effect.flatMap(Effect.clock, (clock) => {
    if (clock !== liveClock) {
      return Effect.timeoutTo(fiber.await, { duration, onSuccess: Option.some, onTimeout: Option.none })
    }
    const millis = Duration.toMillis(duration)
    return Effect.async<Option.Option<Exit.Exit<A, E>>>((resume) => {
      const timer = millis <= maxTimerMillis
        ? setTimeout(() => {
          fiber.removeObserver(observer)
          resume(Effect.succeedNone)
        }, millis)
        : undefined
      const observer = (exit: Exit.Exit<A, E>) => {
        clearTimeout(timer)
        resume(Effect.succeedSome(exit))
      }
      // Called at once when the fiber has already ended.
      fiber.addObserver(observer)
      return Effect.sync(() => {
        clearTimeout(timer)
        fiber.removeObserver(observer)
      })
    })
  })

/**
 * Runs `effect` for at most `duration` without waiting for it past that, as `Effect.disconnect` does: it runs in a
 * fiber of its own, and when the time is up (or the caller is interrupted) that fiber is told to stop and left to end
 * alone; an uninterruptible part of it, such as a store call, goes on in the background. With `interruptAbandoned`
 * returning false at the deadline, the fiber is left running instead, for what will end it anyway. Interruptible even
 * where the caller is not, as in an HTTP handler's fiber. What the effect changes in its fiber-local state (its fiber
 * refs) stays in its fiber: the caller gets its result, not its state.
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
      awaitAtMost(fiber, duration).pipe(
        Effect.interruptible,
        Effect.onInterrupt(() => Fiber.interruptFork(fiber)),
        Effect.flatMap(Option.match({
          onSome: (exit): Effect.Effect<A | B, E | E2> => exit,
          onNone: () =>
            Effect.zipRight(
              options?.interruptAbandoned?.() === false ? Effect.void : Fiber.interruptFork(fiber),
              Effect.suspend(onTimeout)
            )
        }))
      ))
  )
