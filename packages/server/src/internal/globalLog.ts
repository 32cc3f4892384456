import { EventStore, Position } from "@concord/core"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ServerResponse } from "node:http"
import { ConcordApi, maxReadLimit } from "../Api.js"
import { unavailable } from "./handlers.js"
import * as params from "./params.js"
import * as sse from "./sse.js"
import type { Subscriptions } from "./subscriptions.js"

const filterOf = (urlParams: params.FilterParams): EventStore.Filter => ({
  types: urlParams.types,
  categories: urlParams.categories
})

/** The Node response under a request, when the service runs on Node's server. */
const nodeResponse = (request: HttpServerRequest.HttpServerRequest): ServerResponse | undefined => {
  const response: unknown = NodeHttpServerRequest.toServerResponse(request)
  return response !== null && typeof response === "object" && "destroy" in response
    ? response as ServerResponse
    : undefined
}

/**
 * The endpoints of the global log over the `EventStore` in context: pages of it, and its subscriptions as Server-Sent
 * Events, ended with the service.
 *
 * @internal
 */
export const layerEvents = (
  options: { readonly subscriptions: Subscriptions; readonly keepAliveInterval: Duration.Duration }
) =>
  HttpApiBuilder.group(ConcordApi, "events", (handlers) =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      return handlers
        .handle("readAll", ({ request, urlParams }) =>
          params.refuseUndecodable(request.url, ["after", "limit", "types", "categories"]).pipe(
            Effect.zipRight(Stream.runCollect(
              store.readAll({
                after: urlParams.after,
                // Without a limit a read could hold the whole log in memory: it gets one page of the largest size.
                limit: urlParams.limit ?? maxReadLimit,
                filter: filterOf(urlParams)
              })
            )),
            Effect.map((events) => ({ events: Chunk.toReadonlyArray(events) })),
            Effect.catchTags({
              StoreError: unavailable("read the global log"),
              // The parameters were decoded into what the store takes: a store that refuses them is broken.
              InvalidArgument: Effect.die
            }),
            Effect.withSpan("concord.readAll")
          ))
        .handle("subscribe", ({ headers, urlParams }) =>
          Effect.gen(function*() {
            const request = yield* HttpServerRequest.HttpServerRequest
            yield* params.refuseUndecodable(request.url, ["after", "types", "categories"])
            // A reconnecting EventSource says where it was, whatever its URL says.
            const after = headers["last-event-id"] ?? urlParams.after
            const response = nodeResponse(request)
            if (response !== undefined) options.subscriptions.track(response)
            yield* Effect.logInfo("subscribed").pipe(Effect.annotateLogs({
              after: after === undefined ? "start" : after === "end" ? "end" : Position.toString(after),
              types: urlParams.types?.join(",") ?? "*",
              categories: urlParams.categories?.join(",") ?? "*"
            }))
            return HttpServerResponse.stream(
              sse.body(store.subscribe({ after, filter: filterOf(urlParams) }), {
                keepAliveInterval: options.keepAliveInterval,
                ending: options.subscriptions.ending
              }),
              {
                contentType: "text/event-stream",
                // No proxy cache or buffering: each message is for now.
                headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
              }
            )
          }))
    }))
