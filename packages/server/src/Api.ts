/**
 * The HTTP API of the event-storage service, declared once: the server, the OpenAPI document and the typed client
 * are all derived from it.
 *
 * @since 0.1.0
 */
import { Conflict, Event, EventStore, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import * as Schema from "effect/Schema"
import {
  HeadersTooLarge,
  InvalidStreamId,
  LengthRequired,
  MalformedRequest,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  RequestTimeout,
  ServiceUnavailable,
  Unauthorized,
  UnsupportedMediaType
} from "./internal/apiErrors.js"
import * as openApi from "./internal/openApi.js"
import * as params from "./internal/params.js"

/**
 * The most events one append may carry.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxEventsPerAppend = 1_000

/**
 * The most events one read returns, and the page a read without `limit` gets.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxReadLimit = EventStore.readPageSize

/**
 * The largest version a stream can reach (the SQL stores keep versions as 32-bit integers), so the largest `from`
 * a read accepts.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxStreamVersion = StreamVersion.max

/**
 * @since 0.1.0
 * @category schemas
 */
export const AppendRequest = Schema.Struct({
  expectedVersion: ExpectedVersion.FromJson,
  events: Schema.Array(Event.EventData).pipe(
    Schema.maxItems(maxEventsPerAppend, { message: () => `at most ${maxEventsPerAppend} events per append` })
  )
}).annotations({
  identifier: "AppendRequest",
  // The document says `additionalProperties: false`: a field the service does not know (a `metaData` typo) is refused
  // with a 400 that names it, not dropped without a word.
  parseOptions: { onExcessProperty: "error" }
})

/**
 * A page of events: a stream's in version order, or the global log's in log order.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadResponse {
  readonly events: ReadonlyArray<Event.RecordedEvent>
}

/**
 * A page of events as JSON: each event's `recordedAt` and `position` are strings.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadResponseEncoded {
  readonly events: ReadonlyArray<Schema.Schema.Encoded<typeof Event.RecordedEvent>>
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const ReadResponse: Schema.Schema<ReadResponse, ReadResponseEncoded> = Schema.Struct({
  events: Schema.Array(Event.RecordedEvent)
}).annotations({ identifier: "ReadResponse" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const StreamInfo = Schema.Struct({
  streamId: StreamId.StreamId,
  version: StreamVersion.StreamVersion
}).annotations({ identifier: "StreamInfo" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const Health = Schema.Struct({ status: Schema.Literal("ok") }).annotations({ identifier: "Health" })

/**
 * The errors the API answers with: its endpoints' and middlewares' own, and those answered outside the endpoints
 * (`NotFound`, `MethodNotAllowed`, `HeadersTooLarge`, `RequestTimeout`).
 *
 * @since 0.1.0
 * @category errors
 */
export {
  HeadersTooLarge,
  InvalidStreamId,
  LengthRequired,
  MalformedRequest,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  RequestTimeout,
  ServiceUnavailable,
  Unauthorized,
  UnsupportedMediaType
} from "./internal/apiErrors.js"

// Checked by the handlers rather than the router, so a bad id gets a 400 that says why instead of a bare 404.
const streamPath = Schema.Struct({ streamId: Schema.String })

const ReadParams = Schema.Struct({
  from: Schema.optional(params.integer("from", 1, maxStreamVersion)),
  limit: Schema.optional(params.Limit)
})

/**
 * @since 0.1.0
 * @category groups
 */
export class StreamsGroup extends HttpApiGroup.make("streams")
  .add(
    HttpApiEndpoint.post("append", "/streams/:streamId/events")
      .setPath(streamPath)
      .setPayload(AppendRequest)
      .addSuccess(EventStore.AppendResult)
      .addError(Conflict.ConcurrencyConflict, { status: 409 })
      .addError(Conflict.WrongExpectedVersion, { status: 409 })
      .addError(EventStore.DuplicateEventId, { status: 422 })
      .addError(EventStore.InvalidEventData, { status: 400 })
      .addError(EventStore.InvalidArgument, { status: 400 })
      .addError(EventStore.AppendTimeout, { status: 503 })
      .addError(ServiceUnavailable, { status: 503 })
      .annotate(OpenApi.Summary, "Append events to a stream")
      .annotate(
        OpenApi.Description,
        "Appends a batch atomically. With an expected version behind the stream's end, the events committed since " +
          "are checked against the conflict registry: when none conflicts the batch goes after the current end " +
          "(rebasedOver says how many it went past), otherwise 409 names every clashing pair and nothing is written."
      )
  )
  .add(
    HttpApiEndpoint.get("read", "/streams/:streamId/events")
      .setPath(streamPath)
      .setUrlParams(ReadParams)
      .addSuccess(ReadResponse)
      .addError(EventStore.InvalidArgument, { status: 400 })
      .addError(ServiceUnavailable, { status: 503 })
      .annotate(OpenApi.Summary, "Read a stream's events in version order")
      .annotate(
        OpenApi.Description,
        `Returns the events from version \`from\` (default 1, at most ${maxStreamVersion}), at most \`limit\` of them ` +
          `(0 to ${maxReadLimit}; without it, ${maxReadLimit}). A page shorter than asked for is the stream's end; ` +
          "to read on, ask again from the version after the last event returned."
      )
  )
  .add(
    HttpApiEndpoint.get("version", "/streams/:streamId")
      .setPath(streamPath)
      .addSuccess(StreamInfo)
      .addError(EventStore.InvalidArgument, { status: 400 })
      .addError(ServiceUnavailable, { status: 503 })
      .annotate(OpenApi.Summary, "The current version of a stream (0 when it has no events)")
  )
{}

/**
 * The global log: every committed event in log order, read page by page or followed live.
 *
 * @since 0.2.0
 * @category groups
 */
export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("readAll", "/events")
      .setUrlParams(params.ReadAll)
      .addSuccess(ReadResponse)
      .addError(ServiceUnavailable, { status: 503 })
      .annotate(OpenApi.Summary, "Read the global log in order")
      .annotate(
        OpenApi.Description,
        "Returns the committed events after position `after` (from the start without it) in the order of the " +
          `global log, each with its \`position\`, at most \`limit\` of them (0 to ${maxReadLimit}; without it, ` +
          `${maxReadLimit}). \`types\` and \`categories\` (comma-separated) keep only matching events. A page ` +
          "shorter than asked for means the reader is caught up; to read on, ask again after the last position returned."
      )
  )
  .add(
    HttpApiEndpoint.get("subscribe", "/events/subscribe")
      .setUrlParams(params.Subscribe)
      .setHeaders(params.SubscribeHeaders)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(ServiceUnavailable, { status: 503 })
      .annotate(OpenApi.Summary, "Follow the global log live (Server-Sent Events)")
      .annotate(
        OpenApi.Description,
        "Catches up from after `after` (the start without it, only new events with `end`), then stays open and " +
          "sends each event as it commits: one message per event, its `id` the event's position and its `data` the " +
          "event's JSON as `GET /events` returns it. Comment lines keep an idle connection open. A reconnecting " +
          "client sends `Last-Event-ID` (which wins over `after`) and resumes right after that position, nothing " +
          "skipped or repeated. The stream ends when the service shuts down; reconnect to go on."
      )
  )
{}

/**
 * @since 0.1.0
 * @category groups
 */
export class HealthGroup extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("health", "/health")
    .addSuccess(Health)
    .addError(ServiceUnavailable, { status: 503 })
    .annotate(OpenApi.Summary, "Whether the service and its store answer")
) {}

/**
 * The bearer token of every request, when the service has one. Declared on the whole API, it runs before the request
 * is routed, so the API page and its OpenAPI document are covered too.
 *
 * @since 0.1.0
 * @category middleware
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@concord/server/Authorization", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/**
 * What the request line and headers alone decide, checked before the request is routed and before any body is read:
 * a path that is not valid percent-encoded UTF-8 (the router would answer a bare 404), a `POST` without
 * `Content-Length`, a declared body over the limit, a body not declared as JSON. Then a `POST`'s body is read and
 * refused when it nests arrays and objects deeper than an append request's events may (`Event.maxDepth` in their
 * data and metadata), before anything parses it.
 *
 * @since 0.1.0
 * @category middleware
 */
export class RequestGuard extends HttpApiMiddleware.Tag<RequestGuard>()("@concord/server/RequestGuard", {
  failure: Schema.Union(MalformedRequest, LengthRequired, PayloadTooLarge, UnsupportedMediaType)
}) {}

/**
 * @since 0.1.0
 * @category api
 */
export class ConcordApi extends HttpApi.make("concord")
  .add(StreamsGroup)
  .add(EventsGroup)
  .add(HealthGroup)
  // The middleware declared last runs first: the token is checked before anything else is looked at. A body that
  // turns out unreadable while the payload is decoded is refused with RequestGuard's errors too.
  .middleware(RequestGuard)
  .middleware(Authorization)
  .addError(InvalidStreamId)
  .annotate(OpenApi.Title, "Concord event storage")
  .annotate(OpenApi.Version, openApi.version)
  .annotate(OpenApi.Servers, openApi.servers)
  // Answered outside the endpoints, so no endpoint declares them: components the document refers to.
  .annotate(HttpApi.AdditionalSchemas, [NotFound, MethodNotAllowed, RequestTimeout, HeadersTooLarge])
  // What the platform cannot say from the schemas; the service serves the document with the bearer scheme applied
  // only when it runs with a token.
  .annotate(OpenApi.Transform, (spec) => openApi.refine(spec as OpenApi.OpenAPISpec, { bearer: true }))
  .annotate(
    OpenApi.Description,
    "Persists events and accepts concurrent writes that do not really clash. When the service was started with a " +
      "token, every request must carry `Authorization: Bearer <token>` (the document then applies the `bearer` " +
      "scheme). Besides the answers each operation lists: a path no endpoint has gets a JSON 404 " +
      "(`components.responses.NotFound`), a method its path does not have a JSON 405 with an `Allow` header " +
      "(`MethodNotAllowed`), and Node answers a request line and headers over 16 KiB with 431 (`HeadersTooLarge`), " +
      "one that does not arrive in time with 408 (`RequestTimeout`), before the API sees them. A request body holds " +
      "exactly the fields its schema lists: an unknown field is refused with a 400 that names it. Every `GET` also " +
      "answers `HEAD`: its status and headers, without a body."
  )
{}
