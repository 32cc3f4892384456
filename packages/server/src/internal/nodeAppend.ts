import { EventStore, type StreamId, Telemetry } from "@concord/core"
import type * as Headers from "@effect/platform/Headers"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import type * as Tracer from "effect/Tracer"
import * as http from "node:http"
import { performance } from "node:perf_hooks"
import type * as Registries from "../Registries.js"
import type * as appendWarnings from "./appendWarnings.js"
import * as authorization from "./authorization.js"
import * as deadline from "./deadline.js"
import * as fastAppend from "./fastAppend.js"
import * as handlers from "./handlers.js"
import * as httpMetrics from "./httpMetrics.js"
import * as nodeAnswer from "./nodeAnswer.js"
import * as requestGuard from "./requestGuard.js"

type Listener = (request: http.IncomingMessage, response: http.ServerResponse) => void

/**
 * What the short way needs of the service's options.
 *
 * @internal
 */
export interface Options {
  readonly maxBodyBytes: number
  readonly token: Redacted.Redacted | undefined
  readonly registries: Registries.Registries
  readonly requestTimeout: Duration.Duration
  readonly warnings: appendWarnings.AppendWarnings
}

/**
 * The request as the platform would have received it, its body already read: a message of the same connection with
 * the same request line and headers, whose body is these bytes, complete.
 */
const replay = (request: http.IncomingMessage, body: Buffer): http.IncomingMessage => {
  const message = new http.IncomingMessage(request.socket)
  message.method = request.method!
  message.url = request.url!
  message.headers = request.headers
  message.rawHeaders = request.rawHeaders
  message.httpVersion = request.httpVersion
  message.httpVersionMajor = request.httpVersionMajor
  message.httpVersionMinor = request.httpVersionMinor
  // Its bytes are here already: nothing to ask the connection for.
  message._read = () => {}
  message.push(body)
  message.push(null)
  message.complete = true
  return message
}

/** The stream id of a request the short way takes before its body is read, or `undefined` (see `fastAppend`). */
const eligible = (
  request: http.IncomingMessage,
  options: Options,
  accepted: (authorization: string | undefined) => boolean
): { readonly raw: string; readonly streamId: StreamId.StreamId } | undefined => {
  if (request.method !== "POST") return undefined
  const raw = fastAppend.appendPathStream(request.url ?? "")
  const { authorization: token, "content-length": length, "content-type": type } = request.headers
  if (
    raw === undefined || !accepted(token) ||
    requestGuard.refusal("POST", length, type, options.maxBodyBytes) !== undefined
  ) {
    return undefined
  }
  const streamId = handlers.decodeStreamIdEither(raw)
  return Either.isRight(streamId) ? { raw, streamId: streamId.right } : undefined
}

/** The clock of spans' times, as Effect's default one gives them. */
const clock = Clock.make()

/**
 * The server span of a request the short way takes, as the platform's tracing middleware names it (`http.server POST`)
 * and continuing the caller's trace from its `traceparent` (or b3) header, with the attributes that say which request
 * it was: its method, path (without the query) and route. Not its headers, which the platform's span records one by one:
 * an append's are the same every time, and the cost of each attribute is paid again when it is exported.
 */
const serverSpan = (tracer: Tracer.Tracer, request: http.IncomingMessage): Tracer.Span => {
  const span = tracer.span(
    "http.server POST",
    HttpTraceContext.fromHeaders(request.headers as Headers.Headers),
    Context.empty(),
    [],
    clock.unsafeCurrentTimeNanos(),
    "server",
    { captureStackTrace: false }
  )
  if (span.sampled) {
    const url = request.url!
    const query = url.indexOf("?")
    span.attribute("http.request.method", "POST")
    span.attribute("url.path", query === -1 ? url : url.slice(0, query))
    span.attribute("http.route", httpMetrics.appendRoute)
  }
  return span
}

/** Ends a request's server span with the status it was answered. */
const endSpan = (span: Tracer.Span | undefined, status: number, exit: Exit.Exit<unknown, unknown>) => {
  if (span === undefined) return
  if (span.sampled) span.attribute("http.response.status_code", status)
  span.end(clock.unsafeCurrentTimeNanos(), exit)
}

/**
 * The short way on Node's server itself (see {@link layer}): a request the short way takes is read, decoded, appended
 * and answered here; any other goes to `platform`, and so does one whose body turns out not to decode, as read. With
 * a `tracer` other than the default one, each request it answers has its server span, the store call's span inside.
 */
const dispatcher = (
  platform: Listener,
  options: Options,
  runtime: Runtime.Runtime<EventStore.EventStore>,
  tracer: Tracer.Tracer | undefined
): Listener => {
  const runFork = Runtime.runFork(runtime)
  // The same runtime with tracing off, for a request whose server span is not sampled: any span made under it (a
  // statement's) is a no-op rather than a root sampled anew, and the request pays for no span's context.
  const runForkUntraced = Runtime.runFork(
    Runtime.updateFiberRefs(
      runtime,
      FiberRefs.updateAs({ fiberId: FiberId.none, fiberRef: FiberRef.currentTracerEnabled, value: false })
    )
  )
  // Not marked for a deadline of the platform's, which keeps its own. A request whose server span is not sampled calls
  // the store without its spans: they would be made only to be dropped, at the cost of a traced one.
  const store = Context.get(runtime.context, EventStore.EventStore)
  const append = handlers.appendUnmarked(store, options.registries, options.warnings)
  const appendUntraced = handlers.appendUnmarked(Telemetry.untraced(store), options.registries, options.warnings)
  const accepted = authorization.accepts(options.token)
  const timeoutMillis = Duration.toMillis(options.requestTimeout)
  // The runtime's level is the listener's for as long as it serves: read once.
  const debug = httpMetrics.isDebug(FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentMinimumLogLevel))
  // A request answered here is counted as the platform counts those it answers: once, as its answer is written.
  const recorded = (url: string, status: number, started: number) => {
    const millis = performance.now() - started
    httpMetrics.record("POST", httpMetrics.appendRoute, status, millis / 1000)
    if (debug) runFork(httpMetrics.logRequest("POST", httpMetrics.appendRoute, url, status, millis))
  }
  return (request, response) => {
    const target = eligible(request, options, accepted)
    if (target === undefined) return platform(request, response)
    const started = performance.now()
    const span = tracer === undefined ? undefined : serverSpan(tracer, request)
    const chunks: Array<Buffer> = []
    // As the deadline of the general path: the store is called only while no answer was given, and the answer at the
    // deadline says whether it was.
    let storeCalled = false
    let answered = false
    const settle = () => {
      answered = true
      clearTimeout(timer)
      request.off("data", onData).off("end", onEnd)
    }
    const timer = setTimeout(() => {
      if (answered) return
      settle()
      const late = deadline.lateAnswerOf("POST", request.url!, storeCalled, timeoutMillis)
      runFork(Effect.annotateLogs(Effect.logWarning("request deadline reached"), late.annotations))
      nodeAnswer.json(response, 503, late.body, { connection: "close" })
      recorded(request.url!, 503, started)
      endSpan(span, 503, Exit.void)
    }, timeoutMillis)
    const onData = (chunk: Buffer) => chunks.push(chunk)
    const onEnd = () => {
      if (answered) return
      const body = Buffer.concat(chunks)
      const payload = fastAppend.appendRequestOf(body.toString("utf8"))
      if (payload === undefined) {
        settle()
        // The platform answers it, in a server span of its own: this one is dropped, never ended (a span is exported
        // when it ends), so that the request has one.
        return platform(replay(request, body), response)
      }
      storeCalled = true
      const fiber = span === undefined
        ? runFork(append(target.raw, target.streamId, payload))
        : span.sampled
        ? runFork(Effect.withParentSpan(append(target.raw, target.streamId, payload), span))
        : runForkUntraced(appendUntraced(target.raw, target.streamId, payload))
      fiber.addObserver((exit) => {
        if (answered) return
        settle()
        nodeAnswer.exit(response, exit, fastAppend.encodedResult)
        recorded(request.url!, response.statusCode, started)
        endSpan(span, response.statusCode, exit)
      })
    }
    request.on("data", onData).on("end", onEnd).on("error", () => {})
    // A client that leaves before its answer: nothing more is done for it (an append begun runs to its end), and it
    // is counted as the platform counts a request its client abandoned.
    response.once("close", () => {
      if (response.writableEnded || answered) return
      settle()
      recorded(request.url!, 499, started)
      endSpan(span, 499, Exit.void)
    })
  }
}

/** The tracer of the default services: spans made under it are seen by no one. */
const defaultTracer = Effect.runSync(Effect.tracer)

/**
 * The short way of appends (see `fastAppend`) on Node's server itself, before the platform: a request it takes is
 * read, decoded, appended (by the same handler, watched the same way), answered with the same body and headers, and
 * counted as the platform counts requests, by the listener that Node calls, without the fiber, the scope and the
 * middlewares of the platform's, which cost it several times the rest of an append; any other request goes to the platform's listener as it
 * came, and one whose body turns out not to decode goes to it with that body. It keeps the general path's rules: the
 * same deadline from the request's arrival, the store called only while no answer was given, a late answer that says
 * whether it was, and nothing more done for a client that left.
 *
 * Installed in place of the platform's listener, the one added to `server` once the app is built (those in `before`
 * were there already). Where a tracer is installed, each request it answers has a server span of its own, as the
 * platform's (see `serverSpan`), and the store call's span inside it; where none is, no span is made.
 *
 * @internal
 */
export const layer = (
  server: http.Server,
  before: ReadonlySet<unknown>,
  options: Options
): Layer.Layer<never, never, EventStore.EventStore> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const tracer = yield* Effect.tracer
    const added = server.listeners("request").filter((listener) => !before.has(listener))
    if (added.length !== 1) return
    const platform = added[0] as Listener
    const dispatch = dispatcher(
      platform,
      options,
      yield* Effect.runtime<EventStore.EventStore>(),
      tracer === defaultTracer ? undefined : tracer
    )
    server.off("request", platform).on("request", dispatch)
    yield* Effect.addFinalizer(() => Effect.sync(() => server.off("request", dispatch).on("request", platform)))
  }))
