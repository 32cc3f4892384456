// The warnings an operator wants without debug lines: an append the store was slow to answer, and more conflicts in
// a minute than a service should see. Every way an append is answered reports here (see handlers.appendUnmarked).
import { type EventStore, Telemetry } from "@concord/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

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
 * The span conflicts are counted over (the last minute, in {@link conflictSlots} steps), and the shortest time between
 * two warnings about them.
 *
 * @internal
 */
export const conflictWindow: Duration.Duration = Duration.minutes(1)

/**
 * How many steps of 10 seconds the window is made of: the conflicts counted are those of the current step and of the
 * five before it, so those of the last 50 to 60 seconds; memory stays that of this many steps whatever the traffic.
 *
 * @internal
 */
export const conflictSlots = 6

const windowMillis = Duration.toMillis(conflictWindow)
const slotMillis = windowMillis / conflictSlots

/** How many streams a step keeps counts for: memory stays bounded whatever the number of streams in conflict. */
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
 * The outcome of an append's exit, as the metrics count it.
 *
 * @internal
 */
export const outcomeOf: (exit: Exit.Exit<EventStore.AppendResult, EventStore.AppendError>) => Outcome =
  Telemetry.outcomeOf

/**
 * The conflicts of one step of the window: their count, and the streams with the most, counted with the Space-Saving
 * algorithm: at most {@link trackedStreams} streams are kept; a stream not kept when all places are taken replaces the
 * one with the fewest, and takes over its count plus one. Exact while no more streams conflict in a step; past that a
 * kept stream's count is at most the evicted count too high, a stream not kept had at most the fewest kept, and a
 * stream with more than a sixteenth of the step's conflicts is always kept.
 *
 * @internal
 */
export class ConflictCounts {
  count = 0
  private evicted = false
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
    const [fewest, least] = this.fewest()
    this.streams.delete(fewest)
    this.streams.set(stream, least + 1)
    this.evicted = true
  }

  /** The streams kept. */
  kept(): Iterable<string> {
    return this.streams.keys()
  }

  /** At least the conflicts this stream had in the step: exactly them while no stream was evicted. */
  bound(stream: string): number {
    return this.streams.get(stream) ?? (this.evicted ? this.fewest()[1] : 0)
  }

  /** Empty again, for a new step. */
  clear(): void {
    this.count = 0
    this.evicted = false
    this.streams.clear()
  }

  private fewest(): readonly [string, number] {
    let fewest = ""
    let least = Number.POSITIVE_INFINITY
    for (const [candidate, conflicts] of this.streams) {
      if (conflicts < least) [fewest, least] = [candidate, conflicts]
    }
    return [fewest, least]
  }
}

/**
 * A warning of conflicts: how many within the window, and the streams with the most (most first, then by name).
 *
 * @internal
 */
export interface ConflictReport {
  readonly conflicts: number
  readonly streams: ReadonlyArray<{ readonly stream: string; readonly conflicts: number }>
}

/**
 * The conflicts of the last minute, sliding in {@link conflictSlots} steps of 10 seconds: a ring of them, each with
 * its count and its {@link ConflictCounts}, and their total. A step that leaves the window is emptied (its count taken
 * off the total, its streams forgotten) and serves for a new one; time going back (a clock set back) counts in the
 * newest step. A warning comes on the conflict that brings the total past the threshold, then not again for a
 * minute. Each conflict costs O(1): the steps it slides over are at most {@link conflictSlots}, and the streams are
 * only merged for a warning, at most once a minute.
 *
 * @internal
 */
export class ConflictWindow {
  private readonly slots = Array.from({ length: conflictSlots }, () => new ConflictCounts())
  /** The step of the newest slot (time divided by a step's length), none before the first conflict. */
  private step: number | undefined = undefined
  private total = 0
  private warnedAt: number | undefined = undefined

  constructor(readonly threshold: number) {}

  /** One conflict on this stream, at this time (milliseconds): the warning to give now, if any. */
  add(stream: string, millis: number): ConflictReport | undefined {
    const slot = this.slide(Math.floor(millis / slotMillis))
    slot.add(stream)
    this.total++
    if (this.total <= this.threshold) return undefined
    if (this.warnedAt !== undefined && millis - this.warnedAt < windowMillis) return undefined
    this.warnedAt = millis
    return { conflicts: this.total, streams: this.top(namedStreams) }
  }

  /** The streams with the most conflicts in the window, at most `limit`, each with at least its conflicts. */
  top(limit: number): ConflictReport["streams"] {
    const candidates = new Set<string>()
    for (const slot of this.slots) for (const stream of slot.kept()) candidates.add(stream)
    return [...candidates].map((stream) => ({ stream, conflicts: this.bound(stream) }))
      .sort((a, b) => b.conflicts - a.conflicts || (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))
      .slice(0, limit)
  }

  private bound(stream: string): number {
    let conflicts = 0
    for (const slot of this.slots) conflicts += slot.bound(stream)
    return conflicts
  }

  /** The slot of this step, the ones the window left on the way emptied. */
  private slide(step: number): ConflictCounts {
    const newest = this.step
    if (newest === undefined) this.step = step
    else if (step > newest) {
      for (let next = newest + 1; next <= Math.min(step, newest + conflictSlots); next++) {
        const slot = this.slotOf(next)
        this.total -= slot.count
        slot.clear()
      }
      this.step = step
    }
    return this.slotOf(this.step!)
  }

  private slotOf(step: number): ConflictCounts {
    return this.slots[((step % conflictSlots) + conflictSlots) % conflictSlots]!
  }
}

/**
 * The service's watch over its appends: given every append's store call once it ended, it warns of a slow one, and
 * of the conflict that brings those of the last minute past the threshold, at once, on the append's own fiber.
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
}

const isConflict = (exit: Exit.Exit<EventStore.AppendResult, EventStore.AppendError>): boolean =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "ConcurrencyConflict"

/** The conflict counted at the time of Effect's clock, and its warning when it brings the window past the threshold. */
const countConflict = (window: ConflictWindow, stream: string) =>
  Effect.clockWith((clock) => {
    const report = window.add(stream, Number(clock.unsafeCurrentTimeNanos() / 1_000_000n))
    return report === undefined ? Effect.void : Effect.annotateLogs(Effect.logWarning("conflicts past the threshold"), {
      conflicts: report.conflicts,
      threshold: window.threshold,
      withinSeconds: Duration.toSeconds(conflictWindow),
      streams: report.streams
    })
  })

/**
 * The watch the options ask for: a slow append is one whose store call took longer than `slowAppendThreshold`
 * (default 1 second; `Duration.infinity` turns it off); a warning of conflicts comes when more than
 * `conflictWarningThreshold` (default 10; 0 turns it off) happened within the last minute (see {@link ConflictWindow}),
 * at most once a minute.
 *
 * @internal
 */
export const make = (options: {
  readonly slowAppendThreshold?: Duration.DurationInput | undefined
  readonly conflictWarningThreshold?: number | undefined
}): AppendWarnings => {
  const slow = Duration.toNanos(Duration.decode(options.slowAppendThreshold ?? defaultSlowAppendThreshold))
  const slowNanos = slow._tag === "Some" ? slow.value : undefined
  const threshold = options.conflictWarningThreshold ?? defaultConflictWarningThreshold
  const window = threshold > 0 ? new ConflictWindow(threshold) : undefined
  return {
    observe: (stream, events, nanos, exit) => {
      const conflict = window !== undefined && isConflict(exit) ? countConflict(window, stream) : undefined
      if (slowNanos === undefined || nanos <= slowNanos) return conflict ?? Effect.void
      const warning = Effect.annotateLogs(Effect.logWarning("slow append"), {
        stream,
        events,
        durationMs: Number(nanos / 1000n) / 1000,
        outcome: outcomeOf(exit)
      })
      return conflict === undefined ? warning : Effect.zipRight(warning, conflict)
    }
  }
}
