import { type Event, EventStore, Position, Telemetry } from "@concord/core"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConcordApi, maxReadLimit } from "../Api.js"
import * as abandon from "./abandon.js"
import { unavailable } from "./handlers.js"
import * as params from "./params.js"
import * as readResponse from "./readResponse.js"
import * as sse from "./sse.js"
import type { Subscriptions } from "./subscriptions.js"

const filterOf = (urlParams: params.FilterParams): EventStore.Filter => ({
  types: urlParams.types,
  categories: urlParams.categories
})

/** How many events a subscription's catch-up reads at a time: a reader that falls behind holds at most this many. */
const catchUpPage = 1_000

/**
 * The events a subscription sends: what is already committed after `after`, read a page at a time, each page within
 * `pageTimeout` (a store that stops answering ends the subscription, logged, and the reader reconnects after the
 * last event it got), then the store's live subscription from the last event read. The first page is read by the
 * effect, so that a store that does not answer it gets a 503 instead of a stream of comments. With `after: "end"`
 * there is nothing to catch up with.
 */
const following = (
  store: EventStore.Service,
  options: { readonly after: Position.Position | "end" | undefined; readonly filter: EventStore.Filter },
  pageTimeout: Duration.Duration
) => {
  type Events = Stream.Stream<Event.RecordedEvent, EventStore.StoreError | EventStore.InvalidArgument>
  const start = options.after
  if (start === "end") return Effect.succeed<Events>(store.subscribe(options))
  const page = (after: Position.Position | undefined) =>
    abandon.abandonAfter(
      Stream.runCollect(store.readAll({ after, limit: catchUpPage, filter: options.filter })),
      pageTimeout,
      () =>
        Effect.fail(
          new EventStore.StoreError({
            operation: "catch a subscription up",
            cause: new Error(`no page of the log within ${Duration.format(pageTimeout)}`)
          })
        )
    )
  const from = (after: Position.Position | undefined, events: Chunk.Chunk<Event.RecordedEvent>): Events => {
    const last = Option.match(Chunk.last(events), { onNone: () => after, onSome: (event) => event.position })
    return Stream.concat(
      Stream.fromChunk(events),
      // A short page read everything there was: the live subscription goes on from there.
      Chunk.size(events) < catchUpPage
        ? Stream.suspend(() => store.subscribe({ after: last, filter: options.filter }))
        : Stream.unwrap(Effect.map(page(last), (next) => from(last, next)))
    )
  }
  return Effect.map(page(start), (events) => from(start, events))
}

/**
 * The endpoints of the global log over the `EventStore` in context: pages of it, and its subscriptions as Server-Sent
 * Events, ended with the service.
 *
 * @internal
 */
export const layerEvents = (
  options: {
    readonly subscriptions: Subscriptions
    readonly keepAliveInterval: Duration.Duration
    /** How long the subscription's catch-up waits for each page of the log. */
    readonly requestTimeout: Duration.Duration
  }
) =>
  HttpApiBuilder.group(ConcordApi, "events", (handlers) =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      return handlers
        .handle("readAll", ({ request, urlParams }) =>
          params.refuseUndecodable(request.url, ["after", "limit", "types", "categories"]).pipe(
            Effect.zipRight(readResponse.pagedRead({
              // Without a limit a read could hold the whole log in memory: it gets one page of the largest size.
              limit: urlParams.limit ?? maxReadLimit,
              read: (limit) => store.readAll({ after: urlParams.after, limit, filter: filterOf(urlParams) }),
              after: (last, left) => store.readAll({ after: last.position, limit: left, filter: filterOf(urlParams) }),
              operation: "read the global log"
            })),
            Effect.catchTags({
              StoreError: unavailable("read the global log"),
              // The parameters were decoded into what the store takes: a store that refuses them is broken.
              InvalidArgument: Effect.die
            }),
            Effect.withSpan("concord.readAll", { captureStackTrace: false })
          ))
        .handle("subscribe", ({ headers, urlParams }) =>
          Effect.gen(function*() {
            const request = yield* HttpServerRequest.HttpServerRequest
            yield* params.refuseUndecodable(request.url, ["after", "types", "categories"])
            // A reconnecting EventSource says where it was, whatever its URL says.
            const after = headers["last-event-id"] ?? urlParams.after
            const filter = filterOf(urlParams)
            // One open subscription in the metrics from the body's first byte to its end, catch-up included: the
            // first page read here and the store's subscription after the catch-up count for it.
            const body = yield* Telemetry.trackSubscription(Effect.map(
              following(store, { after, filter }, options.requestTimeout),
              (events) =>
                sse.body(events, { keepAliveInterval: options.keepAliveInterval, ending: options.subscriptions.ending })
            )).pipe(
              Effect.catchTags({
                StoreError: unavailable("start a subscription"),
                // The parameters were decoded into what the store takes: a store that refuses them is broken.
                InvalidArgument: Effect.die
              })
            )
            const response = readResponse.nodeResponse(request)
            if (response !== undefined) {
              options.subscriptions.track(response)
            }
            yield* Effect.logInfo("subscribed").pipe(Effect.annotateLogs({
              after: after === undefined ? "start" : after === "end" ? "end" : Position.toString(after),
              types: urlParams.types?.join(",") ?? "*",
              categories: urlParams.categories?.join(",") ?? "*"
            }))
            return HttpServerResponse.stream(
              body,
              {
                contentType: "text/event-stream",
                // No proxy cache or buffering: each message is for now.
                headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
              }
            )
          }))
    }))
