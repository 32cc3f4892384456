import { EventStore, StreamId } from "@concord/core"
import { HttpApiBuilder } from "@effect/platform"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ConcordApi, InvalidStreamId, maxReadLimit, ServiceUnavailable } from "../Api.js"
import type * as Registries from "../Registries.js"
import * as abandon from "./abandon.js"
import * as deadline from "./deadline.js"
import * as readResponse from "./readResponse.js"

/** @internal */
export const metrics = {
  appends: Metric.counter("concord_appends_total", { description: "appends accepted", incremental: true }),
  rebases: Metric.counter("concord_rebases_total", {
    description: "appends accepted past events committed since their expected version",
    incremental: true
  }),
  conflicts: Metric.counter("concord_conflicts_total", {
    description: "appends refused because of a real conflict",
    incremental: true
  })
}

/** A store failure: logged, and answered with a 503 that keeps the details in the logs. @internal */
export const unavailable = (operation: string) => (error: EventStore.StoreError) =>
  Effect.zipRight(
    Effect.logError(`store failure: ${operation}`, error.cause),
    Effect.fail(new ServiceUnavailable({ message: "the event store is unavailable; try again later" }))
  )

const decodeStreamId = (raw: string) =>
  Schema.decodeUnknown(StreamId.StreamId)(raw).pipe(
    Effect.mapError((error) =>
      new InvalidStreamId({ message: `invalid stream id: ${ParseResult.TreeFormatter.formatErrorSync(error)}` })
    )
  )

/** The stream endpoints over the `EventStore` in context, each stream with its registry. @internal */
export const layerStreams = (registries: Registries.Registries) =>
  HttpApiBuilder.group(ConcordApi, "streams", (handlers) =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      return handlers
        .handle("append", ({ path: { streamId: raw }, payload }) =>
          Effect.flatMap(decodeStreamId(raw), (streamId) =>
            Effect.zipRight(
              deadline.callingStore,
              store.append(streamId, payload.expectedVersion, payload.events, {
                registry: registries.forStream(streamId)
              })
            )).pipe(
              Effect.tap((result) =>
                Effect.all([
                  Metric.increment(metrics.appends),
                  result.rebasedOver > 0 ? Metric.increment(metrics.rebases) : Effect.void,
                  Effect.logInfo("appended").pipe(Effect.annotateLogs({
                    stream: raw,
                    firstVersion: result.firstVersion,
                    lastVersion: result.lastVersion,
                    rebasedOver: result.rebasedOver
                  }))
                ])
              ),
              Effect.tapErrorTag("ConcurrencyConflict", (conflict) =>
                Effect.zipRight(
                  Metric.increment(metrics.conflicts),
                  Effect.logInfo("conflict").pipe(Effect.annotateLogs({
                    stream: raw,
                    expectedVersion: conflict.expectedVersion,
                    actualVersion: conflict.actualVersion,
                    pairs: conflict.conflicts.map((p) =>
                      `${p.proposedType}#${p.proposedIndex}x${p.committedType}@${p.committedVersion}`
                    )
                      .join(" ")
                  }))
                )),
              Effect.tapErrorTag("AppendTimeout", (timeout) =>
                Effect.logWarning("append timed out").pipe(Effect.annotateLogs({
                  stream: raw,
                  timeoutMillis: timeout.timeoutMillis,
                  mayHaveCommitted: timeout.mayHaveCommitted
                }))),
              Effect.catchTag("StoreError", unavailable(`append to ${raw}`)),
              Effect.withSpan("concord.append", { attributes: { stream: raw, events: payload.events.length } }),
              // An append once begun runs to its end, logged and counted, even when its answer is abandoned (the
              // request's deadline passed, its client left): nothing waits for it then.
              Effect.uninterruptible
            ))
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
              Effect.withSpan("concord.read", { attributes: { stream: raw } })
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
