import { HttpApiBuilder, HttpIncomingMessage, HttpServerError, HttpServerRequest } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ConcordApi, LengthRequired, MalformedRequest, PayloadTooLarge, RequestGuard } from "../Api.js"

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
 * The `RequestGuard` middleware. Its refusals must come before the body is read: a body of undeclared length could
 * only be refused by cutting the connection mid-stream, and one declared too large is refused without being read.
 *
 * @internal
 */
export const layer = (maxBodyBytes: number): Layer.Layer<RequestGuard> =>
  Layer.succeed(
    RequestGuard,
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!isDecodable(request.url)) {
        return yield* new MalformedRequest({ message: "the request path is not valid percent-encoded UTF-8" })
      }
      const declared = request.headers["content-length"]
      if (request.method === "POST" && declared === undefined) {
        return yield* new LengthRequired({ message: "a Content-Length header is required" })
      }
      const length = Number(declared ?? "0")
      if (!Number.isSafeInteger(length) || length > maxBodyBytes) {
        return yield* new PayloadTooLarge({
          message: `the request body exceeds ${maxBodyBytes} bytes`,
          limitBytes: maxBodyBytes
        })
      }
    })
  )

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
      Effect.catchSomeDefect((defect) => Option.map(unreadable(defect), Effect.fail))
    ))
