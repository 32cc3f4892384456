import { Telemetry } from "@concord/core"
import { HttpApiBuilder, HttpIncomingMessage, HttpServerError, HttpServerRequest } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import {
  ConcordApi,
  LengthRequired,
  MalformedRequest,
  PayloadTooLarge,
  RequestGuard,
  UnsupportedMediaType
} from "../Api.js"
import * as bodyDepth from "./bodyDepth.js"
import * as routing from "./routing.js"

/** Whether a request path decodes: the router answers one that does not with a bare 404. */
const isDecodable = (url: string): boolean => {
  try {
    decodeURIComponent(url.split("?", 1)[0]!)
    return true
  } catch {
    return false
  }
}

/**
 * The first character in a request path, before its query, that the router would cut the path at as it does at `?`
 * (find-my-way reads `;` and `#` as a query's start too), or `undefined`. Read that way, `/streams/a;b/events` would
 * be stream `a`'s version endpoint: another endpoint, another stream.
 */
const cutAt = (url: string): string | undefined => /[;#]/.exec(url.split("?", 1)[0]!)?.[0]

const percentEncoded = { ";": "%3B", "#": "%23" } as Record<string, string>

/**
 * Whether a `Content-Type` declares JSON the service reads: `application/json`, and a `charset` parameter, if any,
 * `utf-8` (the body is read as UTF-8 whatever it says). Other parameters are ignored. Anything else, no header
 * included, would have the platform read the body as something else: a form, multipart parts (which it would wait
 * for), text or bytes.
 *
 * @internal
 */
export const isJson = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false
  const [type, ...parameters] = contentType.split(";")
  if (type!.trim().toLowerCase() !== "application/json") return false
  return parameters.every((parameter) => {
    const equals = parameter.indexOf("=")
    if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== "charset") return true
    return parameter.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1").toLowerCase() === "utf-8"
  })
}

const unsupportedMediaType = (contentType: string | undefined) =>
  new UnsupportedMediaType({
    message: "the request body must be JSON: Content-Type application/json (charset utf-8 if any), not " +
      (contentType === undefined ? "none" : JSON.stringify(contentType.slice(0, 100)))
  })

/** What the path alone refuses, before it is routed, or `undefined`. */
const pathRefusal = (url: string) => {
  if (!isDecodable(url)) {
    return new MalformedRequest({ message: "the request path is not valid percent-encoded UTF-8" })
  }
  const cut = cutAt(url)
  if (cut !== undefined) {
    return new MalformedRequest({
      message: `the request path holds a raw '${cut}': percent-encode '${cut}' as ${percentEncoded[cut]}`
    })
  }
  return undefined
}

/**
 * What the request line and headers of a routed request refuse, or `undefined`: from its method and its
 * `Content-Length` and `Content-Type` headers.
 *
 * @internal
 */
export const refusal = (
  method: string,
  declared: string | undefined,
  contentType: string | undefined,
  maxBodyBytes: number
) => {
  if (method === "POST" && declared === undefined) {
    return new LengthRequired({ message: "a Content-Length header is required" })
  }
  const length = Number(declared ?? "0")
  if (!Number.isSafeInteger(length) || length > maxBodyBytes) {
    return new PayloadTooLarge({ message: `the request body exceeds ${maxBodyBytes} bytes`, limitBytes: maxBodyBytes })
  }
  // Whatever its length, an empty body included: the endpoint would read a body of another type as that type, which
  // for an empty one waits without end (application/octet-stream) or fails with a bare 500 (multipart).
  if (method === "POST" && !isJson(contentType)) return unsupportedMediaType(contentType)
  return undefined
}

/** What the request line and headers of a routed request refuse, or `undefined`. */
const refusalOf = (request: HttpServerRequest.HttpServerRequest, maxBodyBytes: number) =>
  refusal(request.method, request.headers["content-length"], request.headers["content-type"], maxBodyBytes)

/**
 * A `POST`'s body, checked before anything parses it, in one pass: for depth, as past the limit the store's checks,
 * the platform's decoding or a log of it could each recurse as deep as it goes; and for numbers JavaScript cannot
 * carry exactly (`9223372036854775807`, `1e-400`), which parsing would silently round. The body is read as text
 * through the platform, which keeps it for the payload's decoding as JSON (the only kind of body let through: a read
 * of another kind would wait for a stream already consumed), and interruptibly: this middleware runs where the
 * platform does not allow interruption, and a body that never ends must not hold its request past a deadline.
 */
const checkBody = (request: HttpServerRequest.HttpServerRequest) =>
  request.text.pipe(
    Effect.interruptible,
    Effect.mapError(() => new MalformedRequest({ message: "the request body could not be read" })),
    Effect.flatMap((text) => {
      const problem = bodyDepth.scan(text, bodyDepth.maxBodyDepth)
      return problem === undefined
        ? Effect.void
        : Effect.fail(
          new MalformedRequest({ message: problem._tag === "TooDeep" ? bodyDepth.tooDeepMessage : problem.message })
        )
    })
  )

/**
 * The `RequestGuard` middleware. Its refusals from the request line and headers come before the body is read: a body
 * of undeclared length could only be refused by cutting the connection mid-stream, one declared too large is refused
 * without being read, and one that is not JSON might never be read to its end (multipart parts). Every `POST` to an
 * endpoint must declare JSON, with `Content-Length: 0` too. An empty body declared as JSON goes on, and the append
 * endpoint refuses it at once with `HttpApiDecodeError`, as it does `null`.
 *
 * The middleware runs before the request is routed. A path it cannot read at all (not percent-encoded UTF-8, or cut
 * by the router at a raw `;` or `#`) is refused whatever it is; otherwise a request no route has the method and path
 * of is let through untouched, for the router to answer `404` or `405` as the document says, whatever its body.
 *
 * @internal
 */
export const layer = (maxBodyBytes: number): Layer.Layer<RequestGuard> =>
  Layer.effect(
    RequestGuard,
    Effect.map(HttpApiBuilder.Router, (routes) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const unreadablePath = pathRefusal(request.url)
        if (unreadablePath !== undefined) return yield* unreadablePath
        // The router's routes are read per request: they are not all added yet when this middleware is made.
        const router = yield* routes.router
        if (!routing.isRouted(router.routes, request.method, request.url)) return
        const refused = refusalOf(request, maxBodyBytes)
        if (refused !== undefined) return yield* refused
        if (request.method === "POST") yield* checkBody(request)
      }))
  ).pipe(Layer.provide(HttpApiBuilder.Router.Live))

/** Why a body could not be read, from the error the platform's decoding of a payload dies with. */
const unreadable = (defect: unknown): Option.Option<MalformedRequest> =>
  HttpServerError.isServerError(defect) && defect._tag === "RequestError" && defect.reason === "Decode"
    ? Option.some(
      new MalformedRequest({
        message: defect.cause instanceof SyntaxError
          ? "the request body is not valid JSON"
          : "the request body could not be read"
      })
    )
    : Option.none()

/**
 * Reads bodies through the platform's limit and answers a body that cannot be read as JSON with a `MalformedRequest`
 * that says why (the API alone would answer a bare 400). On Node the limit is never reached: the `RequestGuard` has
 * refused a larger declared length, and no more than the declared length is read; it bounds what any other server
 * carrying the app would read.
 *
 * @internal
 */
export const layerBodyReading = (maxBodyBytes: number): Layer.Layer<never> =>
  HttpApiBuilder.middleware(ConcordApi, (app) =>
    app.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)),
      Effect.catchSomeDefect((defect) => Option.map(unreadable(defect), Effect.fail)),
      Effect.tapError((error) =>
        refusedBeforeStore.has(Predicate.hasProperty(error, "_tag") ? error._tag : undefined)
          ? countInvalidAppend
          : Effect.void
      )
    ))

/** The refusals of a request the service makes before the store sees it: what its client got wrong. */
const refusedBeforeStore = new Set<unknown>(["HttpApiDecodeError", "MalformedRequest", "InvalidStreamId"])

/**
 * An append the service refuses before the store sees it (its body does not decode, its stream id is invalid) counts
 * as an `invalid` append, as one the store refuses does: operators read one count of the appends clients got wrong.
 * Counted here, around the API's other middlewares (see `app`), where each such refusal passes once.
 */
const countInvalidAppend = Effect.flatMap(
  HttpServerRequest.HttpServerRequest,
  (request) =>
    request.method === "POST" && routing.hasShape("/streams/:streamId/events", request.url)
      ? Metric.increment(Telemetry.metrics.appendsByOutcome.invalid)
      : Effect.void
)
