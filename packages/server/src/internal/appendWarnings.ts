// The warnings an operator wants without debug lines: an append the store was slow to answer, and more conflicts in
// a minute than a service should see. Every way an append is answered reports here (see handlers.appendUnmarked).
import type { EventStore, Telemetry } from "@concord/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"

/**
 * The slow-append threshold when the options give none.
 *
 * @internal
 */
export const defaultSlowAppendThreshold: Duration.Duration = Duration.seconds(1)

/**
 * How many conflicts within a minute are let pass without a warning when the options say nothing.
 *
 * @internal
 */
export const defaultConflictWarningThreshold = 10

/**
 * The window conflicts are counted over, and the longest time between two warnings about them.
 *
 * @internal
 */
export const conflictWindow: Duration.Duration = Duration.minutes(1)

/** How many streams a window keeps counts for: memory stays bounded whatever the number of streams in conflict. */
const trackedStreams = 16

/** How many of those a warning names. */
const namedStreams = 3

/**
 * The outcome of an append as the store's metrics name it (`concord_appends_total`'s `outcome`).
 *
 * @internal
 */
export type Outcome = Telemetry.Outcome

/**
 * The outcome of an append's exit.
 *
 * @internal
 */
export const outcomeOf = (exit: Exit.Exit<EventStore.AppendResult, EventStore.AppendError>): Outcome => {
  if (Exit.isSuccess(exit)) return exit.value.rebasedOver > 0 ? "rebased" : "accepted"
  if (exit.cause._tag !== "Fail") return "store_error"
  switch (exit.cause.error._tag) {
    case "ConcurrencyConflict":
      return "conflict"
    case "WrongExpectedVersion":
      return "wrong_version"
    case "DuplicateEventId":
      return "duplicate"
    case "InvalidArgument":
    case "InvalidEventData":
      return "invalid"
    case "AppendTimeout":
      return "timeout"
    case "StoreError":
      return "store_error"
  }
}

/**
 * The conflicts of one window: their count, and the streams with the most, counted with the Space-Saving algorithm:
 * at most {@link trackedStreams} streams are kept; a stream not kept when all places are taken replaces the one with
 * the fewest, and takes over its count plus one. Exact while no more streams conflict in a window, and past that the
 * streams with many conflicts are still kept, their counts at most the evicted count too high.
 *
 * @internal
 */
export class ConflictCounts {
  private count = 0
  private readonly streams = new Map<string, number>()

  /** One conflict on this stream. */
  add(stream: string): void {
    this.count++
    const known = this.streams.get(stream)
    if (known !== undefined) {
      this.streams.set(stream, known + 1)
      return
    }
    if (this.streams.size < trackedStreams) {
      this.streams.set(stream, 1)
      return
    }
    let fewest: string | undefined
    let least = Number.POSITIVE_INFINITY
    for (const [candidate, conflicts] of this.streams) {
      if (conflicts < least) [fewest, least] = [candidate, conflicts]
    }
    this.streams.delete(fewest!)
    this.streams.set(stream, least + 1)
  }

  /** The window's count and its streams with the most conflicts (most first), and a new window. */
  take(): {
    readonly count: number
    readonly streams: ReadonlyArray<{ readonly stream: string; readonly conflicts: number }>
  } {
    const count = this.count
    const streams = [...this.streams].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, namedStreams).map(([stream, conflicts]) => ({ stream, conflicts }))
    this.count = 0
    this.streams.clear()
    return { count, streams }
  }
}

/**
 * The service's watch over its appends: given every append's store call once it ended, it warns of a slow one at
 * once, and of conflicts past the threshold once a minute, by {@link layer}.
 *
 * @internal
 */
export interface AppendWarnings {
  readonly observe: (
    stream: string,
    events: number,
    nanos: bigint,
    exit: Exit.Exit<EventStore.AppendResult, EventStore.AppendError>
  ) => Effect.Effect<void>
  readonly conflicts: ConflictCounts | undefined
  readonly conflictThreshold: number
}

/**
 * The watch the options ask for: a slow append is one whose store call took longer than `slowAppendThreshold`
 * (default 1 second; `Duration.infinity` turns it off); a warning of conflicts comes when more than
 * `conflictWarningThreshold` (default 10; 0 turns it off) happened within a minute.
 *
 * @internal
 */
export const make = (options: {
  readonly slowAppendThreshold?: Duration.DurationInput | undefined
  readonly conflictWarningThreshold?: number | undefined
}): AppendWarnings => {
  const slow = Duration.toNanos(Duration.decode(options.slowAppendThreshold ?? defaultSlowAppendThreshold))
  const slowNanos = slow._tag === "Some" ? slow.value : undefined
  const conflictThreshold = options.conflictWarningThreshold ?? defaultConflictWarningThreshold
  const conflicts = conflictThreshold > 0 ? new ConflictCounts() : undefined
  return {
    conflicts,
    conflictThreshold,
    observe: (stream, events, nanos, exit) => {
      if (conflicts !== undefined && Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        if (exit.cause.error._tag === "ConcurrencyConflict") conflicts.add(stream)
      }
      if (slowNanos === undefined || nanos <= slowNanos) return Effect.void
      return Effect.annotateLogs(Effect.logWarning("slow append"), {
        stream,
        events,
        durationMs: Number(nanos / 1000n) / 1000,
        outcome: outcomeOf(exit)
      })
    }
  }
}

/** The warning of a window's conflicts, when there were more than the threshold. */
const report = (warnings: AppendWarnings, conflicts: ConflictCounts) =>
  Effect.suspend(() => {
    const { count, streams } = conflicts.take()
    return count > warnings.conflictThreshold
      ? Effect.annotateLogs(Effect.logWarning("conflicts past the threshold"), {
        conflicts: count,
        threshold: warnings.conflictThreshold,
        withinSeconds: Duration.toSeconds(conflictWindow),
        streams
      })
      : Effect.void
  })

/**
 * The warnings of conflicts, each minute the service runs (on Effect's clock), as long as the layer lives: nothing
 * when they are turned off.
 *
 * @internal
 */
export const layer = (warnings: AppendWarnings): Layer.Layer<never> => {
  const conflicts = warnings.conflicts
  if (conflicts === undefined) return Layer.empty
  return Layer.scopedDiscard(
    Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(conflictWindow), report(warnings, conflicts))))
  )
}
