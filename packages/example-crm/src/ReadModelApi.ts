/**
 * The read model over HTTP, read-only: `GET /clients` and `GET /clients/{streamId}` answer from the table `ReadModel`
 * keeps; any other method is refused with 405 before it is routed. The server and the typed client are both derived
 * from the one declaration.
 *
 * @since 0.1.0
 */
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import type { HttpApiError, HttpClient, HttpClientError } from "@effect/platform"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ClientSummary from "./ClientSummary.js"
import * as ReadModel from "./ReadModel.js"

/**
 * @since 0.1.0
 * @category errors
 */
export class SummaryNotFound extends Schema.TaggedError<SummaryNotFound>()("SummaryNotFound", {
  streamId: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the read model has no client ${this.streamId} (yet)`
  }
}

/**
 * The read model's database failed to answer.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReadModelUnavailable extends Schema.TaggedError<ReadModelUnavailable>()("ReadModelUnavailable", {
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category groups
 */
export class ClientsGroup extends HttpApiGroup.make("clients")
  .add(
    HttpApiEndpoint.get("list", "/clients")
      .addSuccess(Schema.Array(ClientSummary.ClientSummary))
      .addError(ReadModelUnavailable, { status: 503 })
      .annotate(OpenApi.Summary, "Every client's summary, by stream id")
  )
  .add(
    HttpApiEndpoint.get("get", "/clients/:streamId")
      .setPath(Schema.Struct({ streamId: Schema.String }))
      .addSuccess(ClientSummary.ClientSummary)
      .addError(SummaryNotFound, { status: 404 })
      .addError(ReadModelUnavailable, { status: 503 })
      .annotate(OpenApi.Summary, "One client's summary; its version says which saves it reflects")
  )
{}

/**
 * @since 0.1.0
 * @category api
 */
export class ReadModelApi extends HttpApi.make("crm-read-model").add(ClientsGroup) {}

const unavailable = Effect.mapError((error: { readonly message: string }) =>
  new ReadModelUnavailable({ message: error.message })
)

const handlers = HttpApiBuilder.group(ReadModelApi, "clients", (group) =>
  group
    .handle("list", () => unavailable(ReadModel.list))
    .handle("get", ({ path }) =>
      ReadModel.get(path.streamId).pipe(
        unavailable,
        Effect.flatMap(Option.match({
          onNone: () => new SummaryNotFound({ streamId: path.streamId }),
          onSome: Effect.succeed
        }))
      )))

// Only reads are served: anything else is refused before routing, whatever the path.
const readOnly = (app: HttpApp.Default): HttpApp.Default =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    request.method === "GET" || request.method === "HEAD"
      ? app
      : Effect.succeed(
        HttpServerResponse.text("the read model is read-only", { status: 405, headers: { allow: "GET, HEAD" } })
      ))

/**
 * The API served by the `HttpServer` in context, over the `SqlClient` the read model's table is in.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  never,
  never,
  HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices | SqlClient.SqlClient
> = HttpApiBuilder.serve(readOnly).pipe(
  // Stream ids run to 512 characters, more once percent-encoded; the router's default limit is 100.
  Layer.provide(HttpRouter.setRouterConfig({ maxParamLength: 2048 })),
  Layer.provide(HttpApiBuilder.api(ReadModelApi).pipe(Layer.provide(handlers)))
)

/**
 * Asks the read model served at `baseUrl` (e.g. `http://127.0.0.1:8081`) for a client's summary; `None` while it
 * has none. Fits `ReadModel.waitFor`.
 *
 * @since 0.1.0
 * @category client
 */
export const lookup = (baseUrl: string) =>
(
  streamId: string
): Effect.Effect<
  Option.Option<ClientSummary.ClientSummary>,
  ReadModelUnavailable | HttpClientError.HttpClientError | HttpApiError.HttpApiDecodeError | ParseError,
  HttpClient.HttpClient
> =>
  Effect.flatMap(HttpApiClient.make(ReadModelApi, { baseUrl }), (client) =>
    // The client puts a path parameter into the URL as it is given.
    client.clients.get({ path: { streamId: encodeURIComponent(streamId) } }).pipe(
      Effect.map(Option.some),
      Effect.catchTag("SummaryNotFound", () => Effect.succeedNone)
    ))
