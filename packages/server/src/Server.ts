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
import * as Clock from "effect/Clock"
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
import { createServer, type Server } from "node:http"
import {
  ConcordApi,
  InvalidStreamId,
  MalformedRequest,
  maxReadLimit,
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
  /**
   * When set, every request must carry `Authorization: Bearer <token>`. At least {@link minTokenLength} characters:
   * a shorter one is refused at start.
   */
  readonly token?: Redacted.Redacted | undefined
  /** The largest request body accepted (default 1 MiB); larger ones get 413. */
  readonly maxBodyBytes?: number | undefined
  /** Default: plain optimistic concurrency for every stream. */
  readonly registries?: Registries.Registries | undefined
}

/**
 * The shortest token the service accepts: a short one (or an empty one, which a request without the header would
 * match) is no protection.
 *
 * @since 0.1.0
 * @category options
 */
export const minTokenLength = 16

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

/** The token of an `Authorization: Bearer <token>` header; nothing for a missing, malformed or empty one. */
const bearerToken = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header)
  return match?.[1]
}

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
            // Without a limit a read could hold a whole stream in memory: it gets one page of the largest size.
            Stream.runCollect(store.read(streamId, { from: urlParams.from, limit: urlParams.limit ?? maxReadLimit })))
            .pipe(
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

/** Whether a request path decodes: the router answers one that does not with a bare 404. */
const isDecodable = (url: string): boolean => {
  try {
    decodeURIComponent(url.split("?", 1)[0]!)
    return true
  } catch {
    return false
  }
}

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
        // A request without a well-formed header is refused before any comparison: it can match no token.
        const given = bearerToken(request.headers.authorization)
        if (given === undefined || !tokenMatches(expected, given)) {
          return refuse(401, new Unauthorized({ message: "a valid bearer token is required" }))
        }
      }
      if (!isDecodable(request.url)) {
        return refuse(
          400,
          new MalformedRequest({ message: "the request path is not valid percent-encoded UTF-8" })
        )
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
 * A refusal to start: a token shorter than {@link minTokenLength} characters.
 *
 * @since 0.1.0
 * @category errors
 */
export class WeakToken extends Data.TaggedError("WeakToken")<{ readonly message: string }> {}

const isWeak = (token: Redacted.Redacted | undefined) =>
  token !== undefined && Redacted.value(token).length < minTokenLength

const weakToken = new WeakToken({
  message: `a token must be at least ${minTokenLength} characters long; an empty or short one protects nothing`
})

/**
 * The API, its OpenAPI document at `/docs/openapi.json` and a browsable page at `/docs`, over the `EventStore` in
 * context, served by the `HttpServer` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerApp = (
  options: Options = {}
): Layer.Layer<
  never,
  WeakToken,
  EventStore.EventStore | HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices
> =>
  isWeak(options.token)
    ? Layer.fail(weakToken)
    : HttpApiBuilder.serve(guard(options)).pipe(
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

/** Resumes after the event loop has polled for I/O once more. */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Counts the requests between their arrival and the end of their response, and drains them on shutdown: the
 * listening socket closes (no new connections), every request already received is answered, then the remaining
 * connections are cut. The handlers run in fibers of their own, which the scope closing does not wait for: without
 * this, a committed append could lose its answer.
 */
const drainOnShutdown = (server: Server) => {
  let active = 0
  let arrivals = 0
  let draining = false
  const idle = new Set<() => void>()
  server.on("connection", () => arrivals++)
  server.on("request", (_request, response) => {
    arrivals++
    active++
    // Answers given while draining end their connection, so no client keeps sending on it.
    if (draining) response.setHeader("connection", "close")
    response.once("close", () => {
      active--
      if (active === 0) { for (const resume of idle) resume() }
    })
  })
  const allAnswered = Effect.async<void>((resume) => {
    if (active === 0) return resume(Effect.void)
    const done = () => resume(Effect.void)
    idle.add(done)
    return Effect.sync(() => idle.delete(done))
  })
  return Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.gen(function*() {
      draining = true
      // The signal can be handled before connections and requests that reached the machine first, and Node accepts
      // about one connection per turn of its event loop: the loop turns until two turns in a row (the first may not
      // poll) bring nothing new, for a second at most, so they are all received before the listening socket closes.
      const deadline = (yield* Clock.currentTimeMillis) + 1_000
      for (let quiet = 0, seen = arrivals; quiet < 2 && (yield* Clock.currentTimeMillis) < deadline;) {
        yield* nextTurn
        quiet = arrivals === seen ? quiet + 1 : 0
        seen = arrivals
      }
      yield* Effect.sync(() => server.close())
      // A request that outlives this (an append waiting on a lock held elsewhere) loses its answer, not its atomicity.
      yield* allAnswered.pipe(Effect.timeoutOption("30 seconds"))
      yield* Effect.sync(() => server.closeAllConnections())
    })
  ))
}

/**
 * The service on Node's HTTP server. It prints the address it listens on and its docs address once it is ready.
 * On shutdown (the scope closing, as on SIGTERM) it stops accepting connections, answers every request it has
 * received, then closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<never, UnsafeBinding | WeakToken | ServeError, EventStore.EventStore> => {
  const host = options.host ?? "127.0.0.1"
  // Refused before the port is bound.
  if (isWeak(options.token)) return Layer.fail(weakToken)
  if (!isLoopback(host) && options.token === undefined) {
    return Layer.fail(
      new UnsafeBinding({
        message: `binding ${host} exposes the store beyond this machine: start the service with a token`
      })
    )
  }
  // One Node server per build of the layer, shared by the listener and the drain.
  return Layer.unwrapEffect(Effect.sync(() => {
    const server = createServer()
    // Built in order: the server listens, the API serves on it, then the drain, whose finalizer therefore runs
    // first, while the API still answers and the store is still open.
    return Layer.mergeAll(announce, drainOnShutdown(server)).pipe(
      Layer.provide(layerApp(options)),
      Layer.provide(NodeHttpServer.layer(() => server, { host, port: options.port ?? 8080 }))
    )
  }))
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
