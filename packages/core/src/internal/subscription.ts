import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Event from "../Event.js"
import type { Filter, ReadAllOptions, SubscribeOptions } from "../EventStore.js"
import type { InvalidArgument, StoreError } from "../EventStoreError.js"
import * as Position from "../Position.js"
import { readBounds } from "./readBounds.js"
import * as SharedReads from "./sharedReads.js"
import * as SubscriptionTelemetry from "./telemetrySubscriptions.js"
import { validateReadAll } from "./validation.js"

/**
 * One read of the global log: the matching events after a position, in log order, and how far the log was read.
 *
 * @internal
 */
export interface Page {
  readonly events: ReadonlyArray<Event.RecordedEvent>
  /**
   * No event matching the filter lies after the read's `after` and at or before `through` but outside `events`:
   * the next read may start after it. At least the last event's position (or `after` when there is none); a store
   * that knows how far it looked (the end of the log it could see) says so, sparing filtered readers a rescan.
   */
  readonly through: Position.Position
}

/**
 * Wakes the subscribers of one store when something was committed.
 *
 * @internal
 */
export interface CommitSignal {
  /** Something was committed: wake everyone waiting. Cheap when no one is. */
  readonly notify: () => void
  /** Marks now: the effect it returns completes at the first `notify` after the mark. */
  readonly mark: Effect.Effect<Effect.Effect<void>>
}

/** @internal */
export const makeCommitSignal = (): CommitSignal => {
  // Made when someone marks, completed and dropped at the next notify: an append with no subscriber allocates nothing.
  let next: Deferred.Deferred<void> | undefined
  return {
    notify: () => {
      if (next === undefined) return
      const done = next
      next = undefined
      Deferred.unsafeDone(done, Exit.void)
    },
    mark: Effect.sync(() => Deferred.await(next ??= Deferred.unsafeMake<void>(FiberId.none)))
  }
}

/**
 * What a store gives to read its global log and follow it live.
 *
 * @internal
 */
export interface LiveLog {
  /**
   * Up to `limit` (at least 1) events after `after` that match `filter`, in log order, of those no later commit can
   * precede. Fewer than `limit` only when no more are visible now: `readAll` ends at a short page. Subscribers asking
   * for the same page at once share one read, run in a fiber of its own: it must not depend on the caller's context
   * (a transaction of the caller's, say).
   */
  readonly readAfter: (
    after: Position.Position,
    limit: number,
    filter: Filter | undefined
  ) => Effect.Effect<Page, StoreError>
  /** The position of the last event a reader can see now (`Position.start` for an empty log). */
  readonly end: Effect.Effect<Position.Position, StoreError>
  /** Notified by the store after each commit it makes (and, for stores shared between processes, theirs). */
  readonly signal: CommitSignal
  /**
   * How long a live subscriber waits for the signal before reading anyway: commits the signal cannot see (another
   * process's, without notifications) are found at the latest this late. None: the signal sees every commit.
   */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/** How many events one read of a subscription asks for. */
const subscriptionPage = 1_000

/** How many events one read of `readAll` asks for. */
const readAllPage = 1_000

/**
 * Inside a subscription counted by `Telemetry.trackSubscription` (the service's catch-up), each read counts as that
 * subscription's progress: everything before where it starts was delivered.
 *
 * @internal
 */
export const readAll = (
  log: LiveLog,
  options?: ReadAllOptions
): Stream.Stream<Event.RecordedEvent, StoreError | InvalidArgument> =>
  Stream.unwrap(
    Effect.zipWith(validateReadAll("readAll", options), SubscriptionTelemetry.current(log), (_, tracked) => {
      const filter = options?.filter
      const { limit } = readBounds({ limit: options?.limit })
      return Stream.paginateChunkEffect(
        { after: options?.after as Position.Position | undefined ?? Position.start, left: limit },
        ({ after, left }) =>
          left <= 0
            ? Effect.succeed([Chunk.empty<Event.RecordedEvent>(), Option.none()] as const)
            : Effect.map(log.readAfter(after, Math.min(readAllPage, left), filter), (page) => {
              if (tracked !== undefined) SubscriptionTelemetry.read(tracked, after, page.through)
              // A short page read everything up to the end the store could see: the log is read.
              const more = page.events.length === Math.min(readAllPage, left)
              return [
                Chunk.unsafeFromArray(page.events as Array<Event.RecordedEvent>),
                more ? Option.some({ after: page.through, left: left - page.events.length }) : Option.none()
              ] as const
            })
      )
    })
  )

/**
 * A subscription is counted open from its start (its options checked) until it ends, however it ends (unless it runs
 * inside one counted by `Telemetry.trackSubscription`, which it counts for). Each read tells the metrics how far it
 * delivered (it reads as the subscriber pulls: everything before the read's start) and how far it saw the log; the
 * log's end is also sampled while it is open, so a subscriber that stops pulling shows its lag growing.
 *
 * @internal
 */
export const subscribe = (
  log: LiveLog,
  options?: SubscribeOptions
): Stream.Stream<Event.RecordedEvent, StoreError | InvalidArgument> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    yield* validateReadAll("subscribe", options)
    const filter = options?.filter
    const start = options?.after === "end" ? yield* log.end : options?.after ?? Position.start
    const tracked = yield* SubscriptionTelemetry.scoped(log)
    const wait = (changed: Effect.Effect<void>) =>
      log.pollInterval === undefined ? changed : Effect.raceFirst(changed, Effect.sleep(log.pollInterval))
    const reads = SharedReads.of(log)
    // The mark comes before the read: a commit during the read completes the wait at once, so none is missed.
    const next = (after: Position.Position): Effect.Effect<Page, StoreError> =>
      Effect.flatMap(log.signal.mark, (changed) =>
        Effect.flatMap(
          reads.read(after, subscriptionPage, filter),
          (page) => {
            SubscriptionTelemetry.read(tracked, after, page.through)
            if (page.events.length > 0 || Position.isAfter(page.through, after)) return Effect.succeed(page)
            return Effect.zipRight(wait(changed), Effect.suspend(() => next(after)))
          }
        ))
    return Stream.paginateChunkEffect(start, (after) =>
      Effect.map(next(after), (page) =>
        [
          Chunk.unsafeFromArray(page.events as Array<Event.RecordedEvent>),
          Option.some(page.through)
        ] as const))
  }))
