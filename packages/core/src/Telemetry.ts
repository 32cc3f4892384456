/**
 * What the event store tells operators: Effect metrics (exported by whatever reads Effect's metric registry, such as
 * `GET /metrics` of `concord serve` or an OpenTelemetry exporter) and, where a tracer is installed, one span per store
 * operation. Nothing of an event's data or metadata is ever put in a metric's tags or a span's attributes: only
 * stream ids, versions, counts and outcomes.
 *
 * What an operator reads from each metric:
 *
 * - `concord_appends_total{outcome}`: appends by how they ended. `accepted` (the writer was up to date), `rebased`
 *   (accepted after the conflict registry let it go past events committed since the writer read), `conflict`
 *   (refused: pairs of events clash), `wrong_version` (refused: the writer expected a version the stream has not
 *   reached, a client bug), `duplicate` (an event id already stored elsewhere, or twice in the batch), `invalid`
 *   (bad arguments or event data), `timeout` (the store's deadline passed), `store_error` (the store failed). The rate
 *   of `conflict` against `accepted + rebased` is the contention writers meet; `store_error` and `timeout` should be 0.
 * - `concord_events_appended_total`: events of accepted appends (a batch re-sent and answered by idempotency counts
 *   again: the store answers it as it answered the first time).
 * - `concord_append_rebase_depth`: how many committed events each accepted append went past; high values mean
 *   writers act on stale reads the registry lets through.
 * - `concord_append_duration_seconds`: how long appends take as the store's caller sees it, any outcome.
 * - `concord_subscriptions_open`: subscriptions to the global log now open (SSE readers, consumers, projections).
 * - `concord_subscription_lag_events`: how far behind the slowest open subscription is, in positions of the log (see
 *   {@link metrics}); it grows while a subscriber cannot keep up or stopped pulling, and is 0 when all of them wait
 *   for new commits.
 * - `concord_consumer_checkpoints_total{consumer}`: checkpoints each consumer stored; flat while events arrive means
 *   the consumer is stuck.
 * - `concord_consumer_position{consumer}`: the sequence number of the position each consumer checkpointed; compare
 *   consumers with each other, or with the log's growth.
 *
 * Appends are measured by {@link instrument} (or {@link layer}) around the store. Subscriptions are measured by
 * `StoreBackend.subscribe`, which the memory and SQL stores' `subscribe` is (a subscription that catches up with
 * `readAll` first is counted once with {@link trackSubscription}), and consumers by `Consumer.run`: neither needs
 * `instrument`.
 *
 * @since 0.4.0
 */
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import type * as Stream from "effect/Stream"
import type { AppendError, AppendResult, EventStore, Service } from "./EventStore.js"
import * as Metrics from "./internal/telemetryMetrics.js"
import * as internal from "./internal/telemetryStore.js"
import * as SubscriptionTelemetry from "./internal/telemetrySubscriptions.js"

/**
 * How an append ended, the `outcome` tag of `concord_appends_total`.
 *
 * @since 0.4.0
 * @category models
 */
export type Outcome =
  | "accepted"
  | "rebased"
  | "conflict"
  | "wrong_version"
  | "duplicate"
  | "invalid"
  | "timeout"
  | "store_error"

/**
 * Every {@link Outcome}, in the order the module doc gives them.
 *
 * @since 0.4.0
 * @category models
 */
export const outcomes: ReadonlyArray<Outcome> = Metrics.outcomes

/**
 * A histogram of numbers, as `Metric.histogram` makes.
 *
 * @since 0.4.0
 * @category models
 */
export type Histogram = Metric.Metric<
  MetricKeyType.MetricKeyType.Histogram,
  number,
  MetricState.MetricState.Histogram
>

/**
 * The event store's metrics. They carry exactly the tags named here, whatever `Effect.tagMetrics` the caller set:
 * a series is the same wherever the store is called from.
 *
 * - `appends`: counter `concord_appends_total`, tag `outcome` (see {@link Outcome}); `appendsByOutcome` holds it
 *   tagged with each outcome, to read one series.
 * - `eventsAppended`: counter `concord_events_appended_total`.
 * - `rebaseDepth`: histogram `concord_append_rebase_depth`, boundaries 0, 1, 2, 4, … 1024.
 * - `appendDuration`: histogram `concord_append_duration_seconds`, boundaries from 50 µs doubling to 13.1 s.
 * - `subscriptionsOpen`: gauge `concord_subscriptions_open`.
 * - `subscriptionLag`: gauge `concord_subscription_lag_events`, the largest lag among open subscriptions. A
 *   subscription's lag is the difference of sequence numbers between the position it delivered up to (where its
 *   last read started: it reads as its subscriber pulls) and the log's end. The end is read once a second for each
 *   store with open subscriptions (and taken from each page read when it is further), so a subscriber that stopped
 *   pulling shows its lag growing with later commits, at most a second late. That counts positions, not matching
 *   events (a filtered subscription far behind counts the events it will skip). It is exact where one sequence
 *   number is one event in log order (memory, SQLite) and an estimate on PostgreSQL, whose sequence numbers are
 *   taken before commit.
 * - `consumerCheckpoints`: counter `concord_consumer_checkpoints_total`, tag `consumer`.
 * - `consumerPosition`: gauge `concord_consumer_position`, tag `consumer`: the checkpoint's sequence number (set
 *   when the consumer takes its lease and at each checkpoint it stores).
 *
 * @since 0.4.0
 * @category metrics
 */
export const metrics: {
  readonly appends: Metric.Metric.Counter<number>
  readonly appendsByOutcome: Readonly<Record<Outcome, Metric.Metric.Counter<number>>>
  readonly eventsAppended: Metric.Metric.Counter<number>
  readonly rebaseDepth: Histogram
  readonly appendDuration: Histogram
  readonly subscriptionsOpen: Metric.Metric.Gauge<number>
  readonly subscriptionLag: Metric.Metric.Gauge<number>
  readonly consumerCheckpoints: Metric.Metric.Counter<number>
  readonly consumerPosition: Metric.Metric.Gauge<number>
} = {
  appends: Metrics.appends,
  appendsByOutcome: Metrics.appendsByOutcome,
  eventsAppended: Metrics.eventsAppended,
  rebaseDepth: Metrics.rebaseDepth,
  appendDuration: Metrics.appendDuration,
  subscriptionsOpen: Metrics.subscriptionsOpen,
  subscriptionLag: Metrics.subscriptionLag,
  consumerCheckpoints: Metrics.consumerCheckpoints,
  consumerPosition: Metrics.consumerPosition
}

/**
 * Options of {@link instrument}.
 *
 * @since 0.4.0
 * @category models
 */
export interface InstrumentOptions {
  /**
   * One span per operation (default false): `concord.store.append`, `concord.store.read`, `concord.store.readAll`,
   * `concord.store.subscribe` (open as long as the subscription) and `concord.store.version`, the store's own spans
   * below them. Attributes: `concord.stream_id` (append, read, version), `concord.expected_version` (a version or
   * `"any"`), `concord.events` (the batch's size, or how many events the store's stream gave so far),
   * `concord.outcome`, `concord.actual_version` (the stream's version after an accepted append, the version a
   * conflict or wrong version found, the version read), `concord.rebased_over`, `concord.conflict_pairs` (a count).
   */
  readonly spans?: boolean | undefined
}

/**
 * The store, measured: every append that ends counts its outcome and duration in {@link metrics}, and an accepted
 * one its events and rebase depth. The duration is the store's append as the caller runs it, timed with
 * `performance.now()`. An append whose fiber is interrupted before it ends, or just as it ends, records nothing: it
 * has no outcome, and whether it was written is unknown (recording it all the same would take an uninterruptible
 * region that costs more than the rest). A defect counts as `store_error`. Without spans, reads are the store's own,
 * and an append costs about a microsecond more (measured on the memory store, whose appends take one to two). A store
 * `instrument` made is returned as it is, so that one wrapped twice (an application's {@link layer} under the
 * service's) counts each append once.
 *
 * @since 0.4.0
 * @category constructors
 */
export const instrument: (store: Service, options?: InstrumentOptions) => Service = internal.instrument

/**
 * The outcome an append's exit counts as in {@link metrics}' `appends`: `accepted` or `rebased` for a result (by its
 * `rebasedOver`), the error's outcome for a failure, and `store_error` for a defect or an interruption.
 *
 * @since 0.4.0
 * @category metrics
 */
export const outcomeOf: (exit: Exit.Exit<AppendResult, AppendError>) => Outcome = internal.outcomeOf

/**
 * The same store measured but without spans, where {@link instrument} (or {@link layer}) made it with spans; the
 * store itself otherwise. For a caller that knows an operation is not traced (its request's span was not sampled):
 * through this store it counts in the metrics and pays nothing for spans no one would export.
 *
 * @since 0.4.0
 * @category constructors
 */
export const untraced: (store: Service) => Service = internal.untraced

/**
 * Replaces the `EventStore` in context by the same store {@link instrument}ed, with spans when the tracer in context
 * where the layer is built is not Effect's default one (whose spans no one sees), so that they cost nothing
 * otherwise: provide the tracer's layer (an OpenTelemetry exporter's, say) to this one.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<EventStore, never, EventStore> = internal.layer

/**
 * The subscription `start` makes (an effect that gives its stream), counted in {@link metrics} as one open
 * subscription from when the stream starts until it ends, however it ends: for a subscription made of reads of the
 * global log and then the store's own subscription, as the service's `GET /events/subscribe` catches a client up
 * with `readAll` pages before it subscribes. The store's `readAll` and `subscribe` run in `start` or in the stream
 * count for it instead of opening subscriptions of their own, and each of their reads counts as its progress
 * (everything before where a read starts was delivered): read a page at a time, as the subscriber pulls. A `start`
 * that fails, or a stream never run, counts nothing; the stream counts once. Inside a subscription already counted,
 * `start` is left as it is.
 *
 * @since 0.4.0
 * @category metrics
 */
export const trackSubscription: <A, E, R, E2, R2>(
  start: Effect.Effect<Stream.Stream<A, E, R>, E2, R2>
) => Effect.Effect<Stream.Stream<A, E, R>, E2, R2> = SubscriptionTelemetry.track
