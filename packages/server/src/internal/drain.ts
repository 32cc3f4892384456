import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Server } from "node:http"

/** Resumes after the event loop has polled for I/O once more. */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * A wait, bounded in time, for whatever a count holds open (requests, responses) to close: `within(millis)` resumes
 * at once when `isIdle()`, else at the first `wake()` that finds it idle, or after `millis`. Timed by the event loop
 * rather than by a timeout that interrupts the wait: it runs in finalizers, which are uninterruptible, where such a
 * timeout could never interrupt it and so would never end it.
 *
 * @internal
 */
export const idleWait = (isIdle: () => boolean) => {
  const waiting = new Set<() => void>()
  return {
    /** To be called when something closes. */
    wake: (): void => {
      if (isIdle()) { for (const resume of [...waiting]) resume() }
    },
    within: (millis: number): Effect.Effect<void> =>
      Effect.async<void>((resume) => {
        if (isIdle()) return resume(Effect.void)
        const done = () => {
          clearTimeout(timer)
          waiting.delete(done)
          resume(Effect.void)
        }
        const timer = setTimeout(done, millis)
        waiting.add(done)
        return Effect.sync(() => {
          clearTimeout(timer)
          waiting.delete(done)
        })
      })
  }
}

/**
 * Counts the requests between their arrival and the end of their response, and drains them on shutdown, all within
 * `shutdownTimeout`: the listening socket closes (no new connections), subscriptions end (their readers get up to
 * `subscriptionGrace` to take the end), every other request already received is answered, and at the bound the
 * remaining connections are cut, whatever their clients do (a body never sent in full, a reader that stopped reading).
 * The handlers run in fibers of their own, which the scope closing does not wait for: without this, a committed
 * append could lose its answer.
 *
 * @internal
 */
export const layer = (
  server: Server,
  options: {
    /** Ends the subscriptions, cutting those whose readers have not taken the end within the grace given. */
    readonly endSubscriptions: (grace: Duration.Duration) => Effect.Effect<void>
    readonly subscriptionGrace: Duration.Duration
    readonly shutdownTimeout: Duration.Duration
  }
): Layer.Layer<never> => {
  let active = 0
  let arrivals = 0
  let draining = false
  const allAnswered = idleWait(() => active === 0)
  server.on("connection", () => arrivals++)
  server.on("request", (_request, response) => {
    arrivals++
    active++
    // Answers given while draining end their connection, so no client keeps sending on it.
    if (draining) response.setHeader("connection", "close")
    response.once("close", () => {
      active--
      allAnswered.wake()
    })
  })
  return Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.gen(function*() {
      draining = true
      const bound = (yield* Clock.currentTimeMillis) + Duration.toMillis(options.shutdownTimeout)
      const left = Effect.map(Clock.currentTimeMillis, (now) => Math.max(0, bound - now))
      // The signal can be handled before connections and requests that reached the machine first, and Node accepts
      // about one connection per turn of its event loop: the loop turns until two turns in a row (the first may not
      // poll) bring nothing new, for a second at most, so they are all received before the listening socket closes.
      const settled = Math.min(bound, (yield* Clock.currentTimeMillis) + 1_000)
      for (let quiet = 0, seen = arrivals; quiet < 2 && (yield* Clock.currentTimeMillis) < settled;) {
        yield* nextTurn
        quiet = arrivals === seen ? quiet + 1 : 0
        seen = arrivals
      }
      yield* Effect.sync(() => server.close())
      // A subscription never ends on its own: it is told to, and a reader that stops reading is cut off.
      yield* options.endSubscriptions(Duration.min(options.subscriptionGrace, Duration.millis(yield* left)))
      // A request that outlives the bound (an append on a store that does not answer, a body that never comes) loses
      // its answer, not its atomicity; its work, abandoned, holds nothing up.
      yield* allAnswered.within(yield* left)
      yield* Effect.sync(() => server.closeAllConnections())
    })
  ))
}
