// The global log through the service: readAll pages through GET /events, subscribe follows GET /events/subscribe and
// reconnects after the last event it delivered.
import { Event, EventStore, Position, StoreBackend } from "@concord/core"
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Client, Options } from "../ConcordClient.js"
import * as clientDeadline from "./clientDeadline.js"
import * as clientFilter from "./clientFilter.js"
import * as sseParser from "./sseParser.js"

const keep = (filter: EventStore.Filter | undefined) => (event: Event.RecordedEvent) =>
  filter === undefined || EventStore.matches(event, filter)

/** @internal */
export const readAll = (
  client: Client,
  // A page's request within the client's deadline, its failures the store's.
  pageRequest: <A>(
    request: Effect.Effect<A, { readonly _tag: string }>
  ) => Effect.Effect<A, EventStore.StoreError | EventStore.InvalidArgument>,
  options: EventStore.ReadAllOptions | undefined
): Stream.Stream<Event.RecordedEvent, EventStore.StoreError | EventStore.InvalidArgument> =>
  Stream.unwrap(Effect.map(StoreBackend.validateReadAll("readAll", options), () => {
    const page = EventStore.readPageSize
    const { local, sent } = clientFilter.split(options?.filter)
    // Read as every store reads `limit`: a whole number, however large.
    const { limit } = EventStore.readBounds({ limit: options?.limit })
    return Stream.paginateChunkEffect(
      { after: options?.after, left: limit },
      ({ after, left }) =>
        left <= 0
          ? Effect.succeed([Chunk.empty<Event.RecordedEvent>(), Option.none()] as const)
          : client.events.readAll({ urlParams: { after, limit: Math.min(page, left), ...sent } }).pipe(
            pageRequest,
            Effect.map(({ events }) => {
              const kept = events.filter(keep(local))
              // A page shorter than asked for: the reader is caught up.
              const more = events.length === Math.min(page, left) && left - kept.length > 0
              return [
                Chunk.unsafeFromArray(kept),
                more
                  ? Option.some({ after: events[events.length - 1]!.position, left: left - kept.length })
                  : Option.none()
              ] as const
            })
          )
    )
  }))

/** Why a connection ended or could not be made: `retry` says whether to connect again. */
class ConnectionLost extends Data.TaggedError("ConnectionLost")<{
  readonly retry: boolean
  readonly reason: string
  readonly cause?: unknown
}> {}

const decodeEvent = Schema.decodeUnknown(Schema.parseJson(Event.RecordedEvent))

/** What a response that is not a subscription means: worth another try (the service is restarting) or not. */
const refused = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(Effect.orElseSucceed(response.text, () => ""), (body) =>
    Effect.fail(
      new ConnectionLost({
        retry: response.status >= 500 || response.status === 429,
        reason: `the service answered ${response.status}: ${body.slice(0, 500)}`
      })
    ))

/** @internal */
export interface SubscribeSettings {
  readonly schedule: Schedule.Schedule<unknown, ConnectionLost>
  readonly deadline: Duration.Duration
  readonly idleTimeout: Duration.Duration
  /** How long a connection waits for the service's answer, before its stream begins. */
  readonly timeout: Duration.Duration
}

/** The subscription settings of a client's options, with their defaults. @internal */
export const settings = (options: Options): SubscribeSettings => ({
  schedule: options.reconnectSchedule ??
    Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")), Schedule.jittered),
  deadline: Duration.decode(options.reconnectDeadline ?? "30 seconds"),
  idleTimeout: Duration.decode(options.idleTimeout ?? "45 seconds"),
  timeout: clientDeadline.timeoutOf(options)
})

/** @internal */
export const subscribe = (
  http: HttpClient.HttpClient,
  options: Options,
  subscribeOptions: EventStore.SubscribeOptions | undefined
): Stream.Stream<Event.RecordedEvent, EventStore.StoreError | EventStore.InvalidArgument> =>
  Stream.unwrap(Effect.map(StoreBackend.validateReadAll("subscribe", subscribeOptions), () => {
    const { deadline, idleTimeout, schedule, timeout } = settings(options)
    const { local, sent } = clientFilter.split(subscribeOptions?.filter)
    const client = HttpClient.withScope(http)
    // Where the next connection resumes: after the last event delivered, as an EventSource's Last-Event-ID.
    let last = subscribeOptions?.after
    // Since when connecting has been failing, if it has: past the deadline the subscription fails.
    let failingSince: number | undefined
    const request = () => {
      const base = HttpClientRequest.get("/events/subscribe").pipe(
        HttpClientRequest.prependUrl(options.baseUrl),
        HttpClientRequest.accept("text/event-stream"),
        HttpClientRequest.setUrlParams({
          ...(last === "end" ? { after: "end" } : {}),
          ...(sent.types === undefined ? {} : { types: sent.types.join(",") }),
          ...(sent.categories === undefined ? {} : { categories: sent.categories.join(",") })
        })
      )
      const resumed = last === undefined || last === "end"
        ? base
        : HttpClientRequest.setHeader(base, "last-event-id", Position.toString(last))
      return options.token === undefined
        ? resumed
        : HttpClientRequest.bearerToken(resumed, Redacted.value(options.token))
    }
    const connection = Stream.unwrapScoped(Effect.gen(function*() {
      const response = yield* client.execute(request()).pipe(
        Effect.mapError((cause) => new ConnectionLost({ retry: true, reason: "cannot reach the service", cause })),
        // Until the answer's head comes, the idle timeout does not apply: a service that accepts the connection and
        // never answers would hold the subscription forever.
        (connecting) =>
          clientDeadline.within(connecting, timeout, () =>
            new ConnectionLost({
              retry: true,
              reason: "the service did not answer",
              cause: new clientDeadline.TimedOut({ millis: Duration.toMillis(timeout) })
            }))
      )
      if (response.status !== 200) return yield* refused(response)
      failingSince = undefined
      return response.stream.pipe(
        // A connection silent past the keep-alive comments is dead, whatever the socket says.
        Stream.timeoutFail(
          () => new ConnectionLost({ retry: true, reason: "the connection went silent" }),
          idleTimeout
        ),
        Stream.decodeText(),
        sseParser.messages,
        Stream.mapEffect((message) =>
          decodeEvent(message.data).pipe(
            Effect.mapError((cause) =>
              new ConnectionLost({ retry: false, reason: "the service sent an event that does not decode", cause })
            )
          )
        ),
        // Nothing delivered twice, whatever the service resends.
        Stream.filter((event) => last === undefined || last === "end" || Position.isAfter(event.position, last)),
        Stream.tap((event) => Effect.sync(() => (last = event.position))),
        Stream.catchTag(
          "ResponseError",
          (cause) => Stream.fail(new ConnectionLost({ retry: true, reason: "the connection was lost", cause }))
        ),
        // The service ends subscriptions when it shuts down: another instance, or this one restarted, goes on.
        Stream.concat(Stream.fail(new ConnectionLost({ retry: true, reason: "the service ended the subscription" })))
      )
    }))
    const retried = Schedule.checkEffect(
      schedule,
      (error: ConnectionLost) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          failingSince ??= now
          return error.retry && now - failingSince < Duration.toMillis(deadline)
        })
    )
    return connection.pipe(
      Stream.retry(retried),
      Stream.filter(keep(local)),
      Stream.mapError((error) => new EventStore.StoreError({ operation: "subscribe to the global log", cause: error }))
    )
  }))
