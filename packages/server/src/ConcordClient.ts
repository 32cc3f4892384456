/**
 * The typed client of the service, derived from its API, and an `EventStore` Layer over it: any Effect program
 * written against the store runs unchanged against a remote service, failing with the same typed errors.
 *
 * @since 0.1.0
 */
import { Conflict, type Event, EventStore, EventStoreError, StoreBackend } from "@concord/core"
import { type HttpApi, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { ConcordApi } from "./Api.js"
import * as clientDeadline from "./internal/clientDeadline.js"
import * as clientReads from "./internal/clientReads.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The service's address, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string
  readonly token?: Redacted.Redacted | undefined
  /**
   * The delays between a subscription's attempts to reconnect after its connection is lost (default: exponential
   * from 100 milliseconds, at most 5 seconds apart, jittered).
   *
   * @since 0.2.0
   */
  readonly reconnectSchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /**
   * How long a subscription keeps trying to reconnect before it fails with a `StoreError` (default 30 seconds); the
   * time counts from the first failed attempt since the last connection was made.
   *
   * @since 0.2.0
   */
  readonly reconnectDeadline?: Duration.DurationInput | undefined
  /**
   * How long a subscription's connection may stay silent before it is taken as lost and made again (default 45
   * seconds; the service sends a comment every 15 seconds by default, see `Server.Options.keepAliveInterval`).
   *
   * @since 0.2.0
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * How long {@link layerEventStore} waits for the service to answer a request (default {@link defaultTimeout}, 20
   * seconds): an append, each page of a read or of `readAll`, a version, and each connection of a subscription until
   * its stream begins. A service that cannot answer (partitioned, frozen, gone) then leaves no caller waiting: the
   * request is abandoned (its connection closed, not waited for) and an append fails with
   * `EventStoreError.AppendTimeout` whose `mayHaveCommitted` is `true`, since it was sent and its outcome is unknown
   * (send the same events with the same ids again to learn it), a read or a version with a `StoreError` whose cause,
   * `TimedOut`, says it timed out; a subscription tries to connect again. Keep it a few seconds above the service's
   * request deadline (`Server.Options.requestTimeout`, default `Server.defaultRequestTimeout`), so that the service's
   * answer, more precise (its `AppendTimeout` says whether the store was called), comes first. The client of
   * {@link make} has no deadline of its own: bound its calls with `Effect.timeout`.
   *
   * @since 0.3.0
   */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The deadline of the service's answer when {@link Options} gives none: a few seconds above the service's own default
 * request deadline (`Server.defaultRequestTimeout`).
 *
 * @since 0.3.0
 * @category options
 */
export const defaultTimeout: Duration.Duration = clientDeadline.defaultTimeout

type Groups = typeof ConcordApi extends HttpApi.HttpApi<any, infer G, any, any> ? G : never
type ApiError = typeof ConcordApi extends HttpApi.HttpApi<any, any, infer E, any> ? E : never

const derive = (options: Options): Effect.Effect<Client, never, HttpClient.HttpClient> =>
  HttpApiClient.make(ConcordApi, {
    baseUrl: options.baseUrl,
    transformClient: options.token === undefined
      ? identity
      : HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(options.token)))
  })

/**
 * The client derived from the API: `client.streams.append({ path, payload })`, `client.streams.read(...)`,
 * `client.streams.version(...)`, `client.events.readAll({ urlParams })`, `client.health.health()`. Its
 * `client.events.subscribe` would wait for the whole body of a subscription, which never ends: follow the log with
 * {@link layerEventStore}'s `subscribe`. A path's `streamId` goes into the URL as it is given:
 * an id that may hold `/`, `?`, `#` or `%` must be percent-encoded first (`encodeURIComponent`), as
 * {@link layerEventStore} does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client extends HttpApiClient.Client<Groups, ApiError, never> {}

/**
 * @since 0.1.0
 * @category tags
 */
export class ConcordClient extends Context.Tag("@concord/server/ConcordClient")<ConcordClient, Client>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Client, never, HttpClient.HttpClient> = derive

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ConcordClient, never, HttpClient.HttpClient> =>
  Layer.effect(ConcordClient, make(options))

/**
 * Every failure that is not one of the store's own typed errors (transport, authorisation, an unavailable service)
 * becomes a `StoreError` naming the operation.
 */
const asStoreError = (operation: string) => (cause: { readonly _tag: string }) =>
  new EventStore.StoreError({ operation, cause })

/** The store's typed refusals of an append, which the client passes on as they are. */
const isRefusal = (error: unknown): boolean =>
  Conflict.isVersionError(error) || EventStoreError.isDuplicateEventId(error) ||
  EventStoreError.isInvalidEventData(error) || EventStoreError.isInvalidArgument(error) ||
  EventStoreError.isAppendTimeout(error)

/**
 * The path parameter of a stream, percent-encoded: the derived client puts it into the URL as it is, where a `/`,
 * `?`, `#` or `%` in an id would name another resource or, decoded by the service, another stream.
 */
const pathOf = (streamId: string) => ({ streamId: encodeURIComponent(streamId) })

/** A read's failures: the store's refusal of its arguments as it is, anything else a `StoreError`. */
const readFailure = (operation: string) => (error: { readonly _tag: string }) =>
  EventStoreError.isInvalidArgument(error) ? error : asStoreError(operation)(error)

/** A read's request (a page, a version) within the client's deadline, with its failures as {@link readFailure}. */
const readRequest = (timeout: Duration.Duration, operation: string) =>
<A>(
  request: Effect.Effect<A, { readonly _tag: string }>
): Effect.Effect<A, EventStore.StoreError | EventStore.InvalidArgument> =>
  request.pipe(Effect.mapError(readFailure(operation)), clientDeadline.read(timeout, operation))

/**
 * An `EventStore` backed by the service. The service applies its own conflict registry: an append's
 * `options.registry` is not sent. What every store checks before anything is read (stream ids, expected versions, the
 * batch, the options of reads of the global log) is checked here, without a request, and refused with the same
 * errors. Every request has a deadline, `timeout`: an append not answered by then fails with `AppendTimeout` that may
 * have committed, a read or a version with a `StoreError`.
 *
 * `readAll` reads the global log page by page (`GET /events`). `subscribe` follows it over Server-Sent Events
 * (`GET /events/subscribe`): when the connection is lost, silent for `idleTimeout`, not answered within `timeout`, or
 * the service ends it (shutting down), it reconnects by `reconnectSchedule` with `Last-Event-ID` set to the last
 * event it delivered, so nothing is skipped or repeated, and fails with a `StoreError` once reconnecting has failed
 * for `reconnectDeadline`. A subscription from `"end"` that loses its connection before its first event resumes from
 * the end of the log at the time it reconnects.
 * Filter items the service's comma-separated lists cannot carry (a type holding a comma) are applied by the client.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEventStore = (options: Options): Layer.Layer<EventStore.EventStore, never, HttpClient.HttpClient> =>
  Layer.effect(
    EventStore.EventStore,
    Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      const client = yield* make(options)
      const timeout = clientDeadline.timeoutOf(options)
      return identity<EventStore.Service>({
        append: (streamId, expectedVersion, events) =>
          Effect.flatMap(
            // Checked here as every store checks it: data JSON cannot carry exactly would otherwise change on its way
            // (NaN sent as null, a Date as a string) rather than be refused.
            StoreBackend.validate(streamId, expectedVersion, events),
            () =>
              client.streams.append({ path: pathOf(streamId), payload: { expectedVersion, events } }).pipe(
                Effect.catchIf(
                  (error): error is Exclude<typeof error, EventStore.AppendError> => !isRefusal(error),
                  (error) => Effect.fail(asStoreError(`append to stream ${streamId}`)(error))
                ),
                clientDeadline.append(timeout, streamId)
              ) as Effect.Effect<EventStore.AppendResult, EventStore.AppendError>
          ),
        read: (streamId, readOptions) => {
          const page = EventStore.readPageSize
          // The bounds every store reads by, which the service's parameters accept as they are: while there is
          // something to read, `from` is a version and `limit` a whole number.
          const bounds = EventStore.readBounds(readOptions)
          // Pages through the stream, so a long one never needs one huge response.
          const pages = Stream.paginateChunkEffect(
            { from: bounds.from as number, left: bounds.limit },
            ({ from, left }) =>
              left === 0
                ? Effect.succeed([Chunk.empty<Event.RecordedEvent>(), Option.none()] as const)
                : client.streams.read({ path: pathOf(streamId), urlParams: { from, limit: Math.min(page, left) } })
                  .pipe(
                    readRequest(timeout, `read stream ${streamId}`),
                    Effect.map(({ events }) => {
                      const more = events.length === Math.min(page, left) && left - events.length > 0
                      return [
                        Chunk.unsafeFromArray(events),
                        more ? Option.some({ from: from + events.length, left: left - events.length }) : Option.none()
                      ] as const
                    })
                  )
          )
          return Stream.unwrap(Effect.as(StoreBackend.validateStreamId("read", streamId), pages))
        },
        readAll: (readAllOptions) =>
          clientReads.readAll(client, readRequest(timeout, "read the global log"), readAllOptions),
        subscribe: (subscribeOptions) => clientReads.subscribe(http, options, subscribeOptions),
        version: (streamId) =>
          Effect.flatMap(
            StoreBackend.validateStreamId("version", streamId),
            () =>
              client.streams.version({ path: pathOf(streamId) }).pipe(
                Effect.map((info) => info.version),
                readRequest(timeout, `read the version of stream ${streamId}`)
              )
          )
      })
    })
  )
