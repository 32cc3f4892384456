import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type { Filter } from "../EventStore.js"
import type { StoreError } from "../EventStoreError.js"
import * as Position from "../Position.js"
import type { LiveLog, Page } from "./subscription.js"

/**
 * The reads of a store's subscribers, shared: subscribers that ask for the same page (the same position, filter and
 * size) before its read has started share that one read. A commit wakes every subscriber at the end of the log at
 * once, and each would otherwise run the same statement: a thousand subscribers, a thousand reads per commit.
 *
 * Sharing keeps the subscription's rule: a subscriber marks the commit signal, then reads, so that a commit during
 * the read wakes it again. A shared read starts only after every subscriber that joined it had asked, so after each
 * one's mark: it sees all that any of them could have missed. The read runs in a fiber of its own, so a subscriber
 * that leaves takes nothing from the others.
 *
 * @internal
 */
export interface SharedReads {
  readonly read: (
    after: Position.Position,
    limit: number,
    filter: Filter | undefined
  ) => Effect.Effect<Page, StoreError>
}

const keyOf = (after: Position.Position, limit: number, filter: Filter | undefined): string =>
  `${Position.toString(after)}/${limit}/${
    filter === undefined ? "" : JSON.stringify([filter.types ?? null, filter.categories ?? null])
  }`

/** The shared reads of one log. @internal */
export const make = (log: LiveLog): SharedReads => {
  // The reads asked for and not yet started; one starts when its fiber is first run, after those who ask meanwhile.
  const waiting = new Map<string, Deferred.Deferred<Page, StoreError>>()
  return {
    read: (after, limit, filter) =>
      // Uninterruptible until the read is in the map and its fiber forked: a subscriber interrupted in between would
      // leave the others waiting on a read that never starts. Only the waiting is interruptible.
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const key = keyOf(after, limit, filter)
          const joined = waiting.get(key)
          if (joined !== undefined) return restore(Deferred.await(joined))
          const result = Deferred.unsafeMake<Page, StoreError>(FiberId.none)
          waiting.set(key, result)
          const run = Effect.suspend(() => {
            waiting.delete(key)
            return Effect.flatMap(
              Effect.exit(log.readAfter(after, limit, filter)),
              (exit: Exit.Exit<Page, StoreError>) => Deferred.done(result, exit)
            )
          })
          return Effect.zipRight(Effect.forkDaemon(run), restore(Deferred.await(result)))
        })
      )
  }
}

const shared = new WeakMap<LiveLog, SharedReads>()

/** The shared reads of a store's log, one set per `LiveLog`. @internal */
export const of = (log: LiveLog): SharedReads => {
  let reads = shared.get(log)
  if (reads === undefined) {
    reads = make(log)
    shared.set(log, reads)
  }
  return reads
}
