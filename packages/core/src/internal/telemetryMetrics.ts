import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/** @internal */
export const outcomes = [
  "accepted",
  "rebased",
  "conflict",
  "wrong_version",
  "duplicate",
  "invalid",
  "timeout",
  "store_error"
] as const

/** @internal */
export type Outcome = typeof outcomes[number]

/** @internal */
export const appends = Metric.counter("concord_appends_total", {
  description: "Appends to the event store by outcome: accepted, rebased (accepted past committed events the " +
    "conflict registry let it go past), conflict, wrong_version, duplicate, invalid, timeout, store_error",
  incremental: true
})

/** @internal */
export const eventsAppended = Metric.counter("concord_events_appended_total", {
  description: "Events of the appends the event store accepted",
  incremental: true
})

/** @internal */
export const rebaseDepthBoundaries = MetricBoundaries.fromIterable([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])

/** @internal */
export const rebaseDepth = Metric.histogram(
  "concord_append_rebase_depth",
  rebaseDepthBoundaries,
  "How many committed events each accepted append went past (0 when the writer was up to date)"
)

/** 50 µs, doubling up to 13.1 s (and +Inf): from a memory store's append to a stuck database. @internal */
export const durationBoundaries = MetricBoundaries.exponential({ start: 0.00005, factor: 2, count: 20 })

/** @internal */
export const appendDuration = Metric.histogram(
  "concord_append_duration_seconds",
  durationBoundaries,
  "How long each append to the event store took, in seconds, whatever its outcome"
)

/** @internal */
export const subscriptionsOpen = Metric.gauge("concord_subscriptions_open", {
  description: "Subscriptions to the event store's global log now open"
})

/** @internal */
export const subscriptionLag = Metric.gauge("concord_subscription_lag_events", {
  description: "The largest lag among open subscriptions: positions of the global log between what a subscription " +
    "has delivered and the log's end, read every second while the store has open subscriptions"
})

/** @internal */
export const consumerCheckpoints = Metric.counter("concord_consumer_checkpoints_total", {
  description: "Checkpoints each consumer stored",
  incremental: true
})

/** @internal */
export const consumerPosition = Metric.gauge("concord_consumer_position", {
  description: "The sequence number of the position each consumer last checkpointed"
})

/**
 * The appends counter with each outcome's tag, built once: `Metric.tagged` makes a new metric (and its key) at each
 * call, and the append path would pay for it every time.
 *
 * @internal
 */
export const appendsByOutcome: Readonly<Record<Outcome, Metric.Metric.Counter<number>>> = Object.fromEntries(
  outcomes.map((outcome) => [outcome, Metric.tagged(appends, "outcome", outcome)])
) as Record<Outcome, Metric.Metric.Counter<number>>

/**
 * Updates a metric at once, with no tags but its own: the store's series are the same wherever it is called from,
 * whatever `Effect.tagMetrics` the caller set (and a gauge's +1 and -1 land on the same series).
 *
 * @internal
 */
export const noLabels: ReadonlyArray<never> = []
