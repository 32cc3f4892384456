import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type { ServerResponse } from "node:http"
import * as drain from "./drain.js"

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
  const allClosed = drain.idleWait(() => open.size === 0)
  return {
    ending: Deferred.await(ended),
    track: (response) => {
      if (response.writableFinished || response.destroyed) return
      open.add(response)
      response.once("close", () => {
        open.delete(response)
        allClosed.wake()
      })
    },
    end: (grace) =>
      Effect.gen(function*() {
        yield* Deferred.succeed(ended, undefined)
        yield* allClosed.within(Duration.toMillis(Duration.decode(grace)))
        yield* Effect.sync(() => {
          for (const response of open) response.destroy()
        })
      })
  }
}
