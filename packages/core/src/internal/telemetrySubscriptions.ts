import type * as Position from "../Position.js"
import * as Metrics from "./telemetryMetrics.js"

/**
 * One open subscription as the metrics see it: its lag as last measured.
 *
 * @internal
 */
export interface Tracked {
  lag: number
}

// Every open subscription of this process, whatever its store: the lag gauge is the largest of their lags.
const open = new Set<Tracked>()
// The largest lag among `open`, as the gauge was last set.
let largest = 0

const setLargest = (lag: number): void => {
  largest = lag
  Metrics.subscriptionLag.unsafeUpdate(lag, Metrics.noLabels)
}

/** Walks every open subscription: only when the one that held the largest lag got closer or ended. */
const recompute = (): void => {
  let found = 0
  for (const tracked of open) if (tracked.lag > found) found = tracked.lag
  if (found !== largest) setLargest(found)
}

/**
 * A subscription started: counted open, with no lag until its first read says otherwise.
 *
 * @internal
 */
export const opened = (): Tracked => {
  const tracked: Tracked = { lag: 0 }
  open.add(tracked)
  // +1 and -1 rather than setting the count: each copy of this module loaded adds its own subscriptions.
  Metrics.subscriptionsOpen.unsafeModify(1, Metrics.noLabels)
  return tracked
}

/**
 * A subscription ended, however it ended: no longer open, and its lag no longer counts.
 *
 * @internal
 */
export const closed = (tracked: Tracked): void => {
  if (!open.delete(tracked)) return
  Metrics.subscriptionsOpen.unsafeModify(-1, Metrics.noLabels)
  if (tracked.lag === largest && largest > 0) recompute()
}

/**
 * A subscription's lag was measured. Constant time unless it held the largest lag and got closer: then every open
 * subscription is looked at, once per page read, not per event.
 *
 * @internal
 */
export const lagged = (tracked: Tracked, lag: number): void => {
  const before = tracked.lag
  if (lag === before || !open.has(tracked)) return
  tracked.lag = lag
  if (lag > largest) setLargest(lag)
  else if (before === largest) recompute()
}

/**
 * How many positions of the log lie after `from` up to `to`: the difference of their sequence numbers (0 when `to`
 * is not after `from`). Exact where commits are the log's order (memory, SQLite: one sequence number per event, in
 * log order); on PostgreSQL, where sequence numbers are taken before commit, an estimate: it also counts the numbers
 * of transactions not yet visible or rolled back, and can miss a few taken earlier by transactions that committed
 * later.
 *
 * @internal
 */
export const positionsBetween = (from: Position.Position, to: Position.Position): number =>
  to.sequence > from.sequence ? Number(to.sequence - from.sequence) : 0
