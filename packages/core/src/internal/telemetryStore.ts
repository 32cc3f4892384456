import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { AppendError, AppendResult, Service } from "../EventStore.js"
import { EventStore } from "../EventStore.js"
import type { ExpectedVersion } from "../ExpectedVersion.js"
import * as Metrics from "./telemetryMetrics.js"

/** What an append's failure counts as; a defect is the store's failure too. */
/** @internal */
export const outcomeOfError = (error: AppendError): Metrics.Outcome => {
  switch (error._tag) {
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
    default:
      return "store_error"
  }
}

/** @internal */
export const outcomeOf = (exit: Exit.Exit<AppendResult, AppendError>): Metrics.Outcome =>
  Exit.isSuccess(exit)
    ? exit.value.rebasedOver > 0 ? "rebased" : "accepted"
    : exit.cause._tag === "Fail"
    ? outcomeOfError(exit.cause.error)
    : "store_error"

/** The span attributes an append's failure adds: versions and a count, nothing of the events. */
const annotateFailure = (span: Tracer.Span, error: AppendError): void => {
  if (error._tag === "ConcurrencyConflict") {
    span.attribute("concord.actual_version", error.actualVersion)
    span.attribute("concord.conflict_pairs", error.conflicts.length)
  } else if (error._tag === "WrongExpectedVersion") {
    span.attribute("concord.actual_version", error.actualVersion)
  }
}

/** Counts an append that ended with this outcome and took this long (from `started`, a `performance.now()`). */
const count = (outcome: Metrics.Outcome, started: number, span: Tracer.Span | undefined): void => {
  Metrics.appendsByOutcome[outcome].unsafeUpdate(1, Metrics.noLabels)
  Metrics.appendDuration.unsafeUpdate((performance.now() - started) / 1000, Metrics.noLabels)
  if (span !== undefined) span.attribute("concord.outcome", outcome)
}

const recordSuccess = (result: AppendResult, started: number, span: Tracer.Span | undefined): void => {
  // The versions the store gave the batch: an empty batch counts 0.
  Metrics.eventsAppended.unsafeUpdate(result.lastVersion - result.firstVersion + 1, Metrics.noLabels)
  Metrics.rebaseDepth.unsafeUpdate(result.rebasedOver, Metrics.noLabels)
  if (span !== undefined) {
    span.attribute("concord.actual_version", result.lastVersion)
    span.attribute("concord.rebased_over", result.rebasedOver)
  }
  count(result.rebasedOver === 0 ? "accepted" : "rebased", started, span)
}

/** A failure counts by its error; a defect as the store's failure; an interruption not at all (it has no outcome). */
const recordFailure = (cause: Cause.Cause<AppendError>, started: number, span: Tracer.Span | undefined): void => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    if (span !== undefined) annotateFailure(span, failure.value)
    count(outcomeOfError(failure.value), started, span)
  } else if (!Cause.isInterruptedOnly(cause)) {
    count("store_error", started, span)
  }
}

/**
 * The append, recorded when it ends. Not in an uninterruptible region (`Effect.onExit`'s costs twice as much as the
 * rest): an append interrupted before its end, or just as it ends, records nothing.
 */
const recorded = (
  append: Effect.Effect<AppendResult, AppendError>,
  started: number,
  span: Tracer.Span | undefined
): Effect.Effect<AppendResult, AppendError> =>
  Effect.matchCauseEffect(append, {
    onFailure: (cause) => {
      recordFailure(cause, started, span)
      return Effect.failCause(cause)
    },
    onSuccess: (result) => {
      recordSuccess(result, started, span)
      return Effect.succeed(result)
    }
  })

const spanOptions = (attributes: Record<string, unknown>): Tracer.SpanOptions => ({
  attributes,
  kind: "internal",
  // A stack trace per span is an Error built per operation: the store's callers are traced by their own spans.
  captureStackTrace: false
})

/** The attributes of an append's span known before it runs, read defensively: the store validates the arguments. */
const appendAttributes = (
  streamId: string,
  expected: ExpectedVersion,
  events: ReadonlyArray<unknown>
): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {}
  if (typeof streamId === "string") attributes["concord.stream_id"] = streamId
  const version = expected?._tag === "Exact" ? expected.version : expected?._tag === "Any" ? "any" : undefined
  if (typeof version === "number" || version === "any") attributes["concord.expected_version"] = version
  if (Array.isArray(events)) attributes["concord.events"] = events.length
  return attributes
}

/** A stream in a span of its own that counts the events it delivered, the store's own spans below it. */
const tracedStream = <A, E, R>(
  name: string,
  attributes: Record<string, unknown>,
  stream: Stream.Stream<A, E, R>
): Stream.Stream<A, E, R> =>
  Stream.unwrapScoped(Effect.map(Effect.makeSpanScoped(name, spanOptions(attributes)), (span) => {
    let delivered = 0
    span.attribute("concord.events", 0)
    return stream.pipe(
      Stream.mapChunks((chunk) => {
        delivered += chunk.length
        span.attribute("concord.events", delivered)
        return chunk
      }),
      Stream.provideService(Tracer.ParentSpan, span)
    )
  }))

/** @internal */
export const instrument = (store: Service, options?: { readonly spans?: boolean | undefined }): Service => {
  // Measured once: a store wrapped twice (an application's `Telemetry.layer` under the service's) counts each append
  // once, as the first wrapping chose.
  if (instrumented.has(store)) return store
  const measured = withoutSpans(store)
  instrumented.add(measured)
  if (options?.spans !== true) return measured
  const traced = withSpans(store)
  instrumented.add(traced)
  untracedOf.set(traced, measured)
  return traced
}

/**
 * The same store measured without spans, where {@link instrument} made it with spans; the store itself otherwise.
 *
 * @internal
 */
export const untraced = (store: Service): Service => untracedOf.get(store) ?? store

/** The stores {@link instrument} made, which it leaves as they are. */
const instrumented = globalValue("@concord/core/Telemetry/instrumented", () => new WeakSet<Service>())

/** Each store {@link instrument} made with spans, and its twin without. */
const untracedOf = globalValue("@concord/core/Telemetry/untraced", () => new WeakMap<Service, Service>())

const withoutSpans = (store: Service): Service => ({
  // The clock is read when the append runs, not when its effect is built: a retried effect is timed each run.
  append: (streamId, expected, events, appendOptions) =>
    Effect.suspend(() => {
      const started = performance.now()
      return recorded(store.append(streamId, expected, events, appendOptions), started, undefined)
    }),
  read: store.read,
  readAll: store.readAll,
  subscribe: store.subscribe,
  version: store.version
})

const withSpans = (store: Service): Service => {
  return {
    append: (streamId, expected, events, appendOptions) =>
      Effect.useSpan(
        "concord.store.append",
        spanOptions(appendAttributes(streamId, expected, events)),
        (span) =>
          Effect.suspend(() => {
            const started = performance.now()
            return recorded(
              Effect.withParentSpan(store.append(streamId, expected, events, appendOptions), span),
              started,
              span
            )
          })
      ),
    read: (streamId, readOptions) =>
      tracedStream(
        "concord.store.read",
        typeof streamId === "string" ? { "concord.stream_id": streamId } : {},
        store.read(streamId, readOptions)
      ),
    readAll: (readAllOptions) => tracedStream("concord.store.readAll", {}, store.readAll(readAllOptions)),
    subscribe: (subscribeOptions) => tracedStream("concord.store.subscribe", {}, store.subscribe(subscribeOptions)),
    version: (streamId) =>
      Effect.useSpan(
        "concord.store.version",
        spanOptions(typeof streamId === "string" ? { "concord.stream_id": streamId } : {}),
        (span) =>
          Effect.tap(
            Effect.withParentSpan(store.version(streamId), span),
            (version) => span.attribute("concord.actual_version", version)
          )
      )
  }
}

/** The tracer of the default services: spans made under it are seen by no one. Read once, when first needed. */
let defaultTracer: Tracer.Tracer | undefined

/**
 * Every series of the store's metrics that has no tag of a caller's, made known to the registry: a scrape then shows
 * each outcome at 0 from the start rather than a series that appears with its first append (which a rate over a
 * window would miss). A metric's series exists once its value is first asked for or updated.
 */
const registerSeries = Effect.sync(() => {
  const series: ReadonlyArray<Metric.Metric<any, any, any>> = [
    ...Object.values(Metrics.appendsByOutcome),
    Metrics.eventsAppended,
    Metrics.rebaseDepth,
    Metrics.appendDuration,
    Metrics.subscriptionsOpen,
    Metrics.subscriptionLag
  ]
  for (const metric of series) metric.unsafeValue(Metrics.noLabels)
})

/** @internal */
export const layer: Layer.Layer<EventStore, never, EventStore> = Layer.effect(
  EventStore,
  Effect.map(
    Effect.zip(EventStore, Effect.tracer).pipe(Effect.zipLeft(registerSeries)),
    ([store, tracer]) => instrument(store, { spans: tracer !== (defaultTracer ??= Effect.runSync(Effect.tracer)) })
  )
)
