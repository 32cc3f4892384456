import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type { ServerResponse } from "node:http"

/**
 * The live subscriptions of one service, ended together when it shuts down: their streams end, and the responses of
 * readers that do not take the end (a reader that stopped reading leaves the writer waiting on a full socket) are
 * cut after a grace period.
 *
 * @internal
 */
export interface Subscriptions {
  /** Completes when the service begins to shut down, at once for a subscription that starts after. */
  readonly ending: Effect.Effect<void>
  /** Keeps a subscription's Node response until it closes, to be cut if it outlives the grace period. */
  readonly track: (response: ServerResponse) => void
  /** Ends every subscription, waits up to `grace` for their responses to close, then cuts those still open. */
  readonly end: (grace: Duration.DurationInput) => Effect.Effect<void>
}

/** @internal */
export const make = (): Subscriptions => {
  const ended = Deferred.unsafeMake<void>(FiberId.none)
  const open = new Set<ServerResponse>()
  const waiting = new Set<() => void>()
  // Resumes when every tracked response has closed, or after `millis`. Timed by the event loop rather than by a
  // timeout that interrupts it: finalizers, which end subscriptions, run uninterruptibly.
  const allClosedWithin = (millis: number) =>
    Effect.async<void>((resume) => {
      if (open.size === 0) return resume(Effect.void)
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
  return {
    ending: Deferred.await(ended),
    track: (response) => {
      if (response.writableFinished || response.destroyed) return
      open.add(response)
      response.once("close", () => {
        open.delete(response)
        if (open.size === 0) { for (const resume of [...waiting]) resume() }
      })
    },
    end: (grace) =>
      Effect.gen(function*() {
        yield* Deferred.succeed(ended, undefined)
        yield* allClosedWithin(Duration.toMillis(Duration.decode(grace)))
        yield* Effect.sync(() => {
          for (const response of open) response.destroy()
        })
      })
  }
}
