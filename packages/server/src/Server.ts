/**
 * The event-storage service: the HTTP API served over whatever `EventStore` is provided, with bearer-token
 * checking, a body limit, structured logs, spans and metrics.
 *
 * @since 0.1.0
 */
import { EventStore, StreamId } from "@concord/core"
import {
  HttpApiBuilder,
  HttpApiSwagger,
  type HttpApp,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { createServer } from "node:http"
import {
  ConcordApi,
  InvalidStreamId,
  MalformedRequest,
  PayloadTooLarge,
  ServiceUnavailable,
  Unauthorized
} from "./Api.js"
import * as Registries from "./Registries.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `127.0.0.1`. Any other address requires a token. */
  readonly host?: string | undefined
  /** Default 8080; 0 picks a free port. */
  readonly port?: number | undefined
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  readonly token?: Redacted.Redacted | undefined
  /** The largest request body accepted (default 1 MiB); larger ones get 413. */
  readonly maxBodyBytes?: number | undefined
  /** Default: plain optimistic concurrency for every stream. */
  readonly registries?: Registries.Registries | undefined
}

/**
 * Counters of the service, as Effect metrics.
 *
 * @since 0.1.0
 * @category metrics
 */
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

const loopback = new Set(["127.0.0.1", "localhost", "::1"])

/**
 * Whether a host is a loopback address, the only kind the service binds without a token.
 *
 * @since 0.1.0
 * @category options
 */
export const isLoopback = (host: string): boolean => loopback.has(host) || host.startsWith("127.")

const digest = (value: string) => crypto.createHash("sha256").update(value).digest()

/** Compares in constant time: the digests have one length whatever the input. */
const tokenMatches = (expected: Buffer, given: string) => crypto.timingSafeEqual(expected, digest(given))

const unavailable = (operation: string) => (error: EventStore.StoreError) =>
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

const streamsLive = (registries: Registries.Registries) =>
  HttpApiBuilder.group(ConcordApi, "streams", (handlers) =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      return handlers
        .handle("append", ({ path: { streamId: raw }, payload }) =>
          Effect.flatMap(decodeStreamId(raw), (streamId) =>
            store.append(streamId, payload.expectedVersion, payload.events, {
              registry: registries.forStream(streamId)
            })).pipe(
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
              Effect.catchTag("StoreError", unavailable(`append to ${raw}`)),
              Effect.withSpan("concord.append", { attributes: { stream: raw, events: payload.events.length } }),
              // A shutdown waits for an append in flight instead of abandoning it.
              Effect.uninterruptible
            ))
        .handle("read", ({ path: { streamId: raw }, urlParams }) =>
          Effect.flatMap(decodeStreamId(raw), (streamId) =>
            Stream.runCollect(store.read(streamId, { from: urlParams.from, limit: urlParams.limit }))).pipe(
              Effect.map((events) => ({ events: Chunk.toReadonlyArray(events) })),
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

const healthLive = HttpApiBuilder.group(ConcordApi, "health", (handlers) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return handlers.handle("health", () =>
      store.version(healthProbe).pipe(
        Effect.as({ status: "ok" as const }),
        Effect.catchTag("StoreError", unavailable("answer a health check"))
      ))
  }))

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

const refuse = (status: number, error: Unauthorized | PayloadTooLarge | MalformedRequest) =>
  HttpServerResponse.unsafeJson({ ...error, _tag: error._tag, message: error.message }, { status })

/**
 * Checks the token and the body size before anything else runs.
 *
 * @since 0.1.0
 * @category middleware
 */
export const guard = (options: Pick<Options, "token" | "maxBodyBytes">) => {
  const expected = options.token === undefined ? undefined : digest(Redacted.value(options.token))
  const limit = options.maxBodyBytes ?? 1024 * 1024
  return (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (expected !== undefined) {
        const header = request.headers.authorization ?? ""
        const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : ""
        if (!tokenMatches(expected, given)) {
          return refuse(401, new Unauthorized({ message: "a valid bearer token is required" }))
        }
      }
      const declared = request.headers["content-length"]
      if (request.method === "POST" && declared === undefined) {
        // A body of undeclared length could only be refused by cutting the connection mid-stream.
        return refuse(411, new MalformedRequest({ message: "a Content-Length header is required" }))
      }
      const length = Number(declared ?? "0")
      if (!Number.isSafeInteger(length) || length > limit) {
        return refuse(
          413,
          new PayloadTooLarge({ message: `the request body exceeds ${limit} bytes`, limitBytes: limit })
        )
      }
      if (request.method === "POST") {
        const body = yield* Effect.either(request.text)
        if (Either.isLeft(body)) {
          return refuse(400, new MalformedRequest({ message: "the request body could not be read" }))
        }
        // The API would answer a body that is not JSON with a bare 400: say why. (Parsing a body twice costs
        // microseconds next to an append's transaction.)
        if (!isJson(body.right)) {
          return refuse(400, new MalformedRequest({ message: "the request body is not valid JSON" }))
        }
      }
      return yield* app
    })
}

/**
 * The API, its OpenAPI document at `/docs/openapi.json` and a browsable page at `/docs`, over the `EventStore` in
 * context, served by the `HttpServer` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerApp = (
  options: Options = {}
): Layer.Layer<never, never, EventStore.EventStore | HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices> =>
  HttpApiBuilder.serve(guard(options)).pipe(
    Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
    // Stream ids run to 512 characters, more once percent-encoded; the router's default limit is 100.
    Layer.provide(HttpRouter.setRouterConfig({ maxParamLength: 2048 })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/docs/openapi.json" })),
    Layer.provide(
      HttpApiBuilder.api(ConcordApi).pipe(
        Layer.provide(streamsLive(options.registries ?? Registries.strict)),
        Layer.provide(healthLive)
      )
    )
  )

/**
 * A refusal to start: binding beyond loopback without a token.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsafeBinding extends Data.TaggedError("UnsafeBinding")<{ readonly message: string }> {}

/**
 * The service on Node's HTTP server. It prints the address it listens on and its docs address once it is ready.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<never, UnsafeBinding | ServeError, EventStore.EventStore> => {
  const host = options.host ?? "127.0.0.1"
  if (!isLoopback(host) && options.token === undefined) {
    return Layer.fail(
      new UnsafeBinding({
        message: `binding ${host} exposes the store beyond this machine: start the service with a token`
      })
    )
  }
  const server = createServer()
  // On shutdown, finalizers run in reverse: this one, then the server's own close(), which waits for every open
  // connection. Idle keep-alive connections are closed at once; busy ones get a grace period to finish the
  // requests in flight (appends are uninterruptible), then are closed too.
  const drain = Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.sync(() => {
      server.closeIdleConnections()
      setTimeout(() => server.closeAllConnections(), 2_000).unref()
    })
  ))
  return Layer.mergeAll(layerApp(options), announce, drain).pipe(
    Layer.provide(NodeHttpServer.layer(() => server, { host, port: options.port ?? 8080 }))
  )
}

const announce = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const address = server.address._tag === "TcpAddress"
    ? `http://${
      server.address.hostname.includes(":") ? `[${server.address.hostname}]` : server.address.hostname
    }:${server.address.port}`
    : `unix:${server.address.path}`
  yield* Effect.sync(() => console.log(`Concord is listening on ${address} (API docs: ${address}/docs)`))
}))
