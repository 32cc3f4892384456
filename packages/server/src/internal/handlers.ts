import { EventStore, StreamId } from "@concord/core"
import { HttpApiBuilder } from "@effect/platform"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type AppendRequest, ConcordApi, InvalidStreamId, maxReadLimit, ServiceUnavailable } from "../Api.js"
import type * as Registries from "../Registries.js"
import * as abandon from "./abandon.js"
import type * as appendWarnings from "./appendWarnings.js"
import * as deadline from "./deadline.js"
import * as httpMetrics from "./httpMetrics.js"
import * as readResponse from "./readResponse.js"

/** A store failure: logged, and answered with a 503 that keeps the details in the logs. @internal */
export const unavailable = (operation: string) => (error: EventStore.StoreError) =>
  Effect.zipRight(
    Effect.logError(`store failure: ${operation}`, error.cause),
    Effect.fail(new ServiceUnavailable({ message: "the event store is unavailable; try again later" }))
  )

/**
 * A stream id of a path, decoded synchronously.
 *
 * @internal
 */
export const decodeStreamIdEither = Schema.decodeUnknownEither(StreamId.StreamId)

/** A path's stream id, decoded synchronously: an `Either` is an effect of its own, with no fiber step to run. */
const decodeStreamId = (raw: string) =>
  Either.mapLeft(
    decodeStreamIdEither(raw),
    (error) =>
      new InvalidStreamId({ message: `invalid stream id: ${ParseResult.TreeFormatter.formatErrorSync(error)}` })
  )

/**
 * `log` with these annotations added, as `Effect.annotateLogs` adds them, for a region that cannot be interrupted (an
 * append's, which runs to its end): they are set and set back around it, where `annotateLogs` sets them in a region of
 * its own that restores them even on an interruption, at several times the cost of the log line itself.
 */
const annotated = (log: Effect.Effect<void>, annotations: Readonly<Record<string, unknown>>) =>
  FiberRef.getWith(FiberRef.currentLogAnnotations, (outer) => {
    let inner = outer
    for (const key in annotations) inner = HashMap.set(inner, key, annotations[key])
    return Effect.zipRight(
      FiberRef.set(FiberRef.currentLogAnnotations, inner),
      Effect.zipRight(log, FiberRef.set(FiberRef.currentLogAnnotations, outer))
    )
  })

/** Conflict pairs as a debug line shows them: proposed and committed types, never event data. */
const pairsOf = (error: Extract<EventStore.AppendError, { readonly _tag: "ConcurrencyConflict" }>) =>
  error.conflicts.map((p) => `${p.proposedType}#${p.proposedIndex}x${p.committedType}@${p.committedVersion}`).join(" ")

/**
 * The log line of an append refused for a conflict (debug, built only when debug lines are let through) or answered at
 * the store's deadline (a warning); nothing for the others, which the request's own line and the metrics tell.
 */
const refused = (raw: string, error: EventStore.AppendError) => {
  switch (error._tag) {
    case "ConcurrencyConflict":
      return FiberRef.getWith(FiberRef.currentMinimumLogLevel, (minimum) =>
        httpMetrics.isDebug(minimum)
          ? annotated(Effect.logDebug("conflict"), {
            stream: raw,
            expectedVersion: error.expectedVersion,
            actualVersion: error.actualVersion,
            pairs: pairsOf(error)
          })
          : Effect.void)
    case "AppendTimeout":
      return annotated(Effect.logWarning("append timed out"), {
        stream: raw,
        timeoutMillis: error.timeoutMillis,
        mayHaveCommitted: error.mayHaveCommitted
      })
    default:
      return Effect.void
  }
}

/** What an append answers: its result, the store's refusals, or `ServiceUnavailable` for a store failure. */
type Appending = Effect.Effect<
  EventStore.AppendResult,
  Exclude<EventStore.AppendError, EventStore.StoreError> | ServiceUnavailable
>

/**
 * An append request to the stream `raw` names, once decoded, as the endpoint answers it: the store called, the call
 * watched by `warnings` (slow appends, conflicts), a store failure answered `ServiceUnavailable`. It runs to its end once begun, even when its
 * answer is abandoned (the request's deadline passed, its client left): nothing waits for it then. Not marked as
 * having called the store (see {@link appendTo}): for the short way on Node's server, which keeps its own deadline.
 *
 * @internal
 */
export const appendUnmarked = (
  store: EventStore.Service,
  registries: Registries.Registries,
  warnings: appendWarnings.AppendWarnings
) =>
(
  raw: string,
  streamId: StreamId.StreamId,
  payload: typeof AppendRequest.Type
): Appending =>
  Effect.clockWith((clock) => {
    // The store call's own duration, on Effect's clock, for the slow-append warning.
    const started = clock.unsafeCurrentTimeNanos()
    return store.append(streamId, payload.expectedVersion, payload.events, { registry: registries.forStream(streamId) })
      .pipe(
        Effect.onExit((exit) =>
          warnings.observe(raw, payload.events.length, clock.unsafeCurrentTimeNanos() - started, exit)
        ),
        Effect.tapError((error) => refused(raw, error)),
        Effect.catchTag("StoreError", unavailable(`append to ${raw}`)),
        Effect.uninterruptible
      )
  })

/**
 * An append request to the stream `raw` names, once decoded, as the endpoint answers it (see {@link appendUnmarked}),
 * its deadline told that the store is called. No span of its own: the request's and the store call's are the ones an
 * operator follows.
 *
 * @internal
 */
export const appendTo = (
  store: EventStore.Service,
  registries: Registries.Registries,
  warnings: appendWarnings.AppendWarnings
) => {
  const append = appendUnmarked(store, registries, warnings)
  return (raw: string, streamId: StreamId.StreamId, payload: typeof AppendRequest.Type): Appending =>
    Effect.zipRight(deadline.callingStore, append(raw, streamId, payload)).pipe(Effect.uninterruptible)
}

/** The stream endpoints over the `EventStore` in context, each stream with its registry. @internal */
export const layerStreams = (registries: Registries.Registries, warnings: appendWarnings.AppendWarnings) =>
  HttpApiBuilder.group(ConcordApi, "streams", (handlers) =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const append = appendTo(store, registries, warnings)
      return handlers
        .handle("append", ({ path: { streamId: raw }, payload }) =>
          Effect.flatMap(decodeStreamId(raw), (streamId) =>
            append(raw, streamId, payload)))
        .handle("read", ({ path: { streamId: raw }, urlParams }) =>
          Effect.flatMap(decodeStreamId(raw), (streamId) =>
            readResponse.pagedRead({
              // Without a limit a read could hold a whole stream in memory: it gets one page of the largest size.
              limit: urlParams.limit ?? maxReadLimit,
              read: (limit) =>
                store.read(streamId, { from: urlParams.from, limit }),
              after: (last, left) =>
                store.read(streamId, { from: last.version + 1, limit: left }),
              operation: `read ${raw}`
            }))
            .pipe(
              Effect.catchTag("StoreError", unavailable(`read ${raw}`)),
              Effect.withSpan("concord.read", { attributes: { stream: raw }, captureStackTrace: false })
            ))
        .handle("version", ({ path: { streamId: raw } }) =>
          Effect.flatMap(decodeStreamId(raw), (streamId) =>
            Effect.map(store.version(streamId), (version) => ({ streamId, version }))).pipe(
              Effect.catchTag("StoreError", unavailable(`read the version of ${raw}`))
            ))
    }))

const healthProbe = StreamId.make("concord-health-probe")

/** How long the health check waits for the store: a load balancer asks often and wants a quick answer. @internal */
export const healthTimeout = Duration.seconds(1)

/** The health endpoint: whether the store answers, within {@link healthTimeout}. @internal */
export const layerHealth = HttpApiBuilder.group(ConcordApi, "health", (handlers) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return handlers.handle("health", () =>
      abandon.abandonAfter(store.version(healthProbe), healthTimeout, () =>
        Effect.zipRight(
          Effect.logError(`store failure: no answer to a health check within ${Duration.format(healthTimeout)}`),
          Effect.fail(new ServiceUnavailable({ message: "the event store did not answer in time; try again later" }))
        )).pipe(
          Effect.as({ status: "ok" as const }),
          Effect.catchTags({
            StoreError: unavailable("answer a health check"),
            // The probe's id is a valid constant: a store that refuses it is broken, not the request.
            InvalidArgument: Effect.die
          })
        ))
  }))
