import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as crypto from "node:crypto"
import { Authorization, Unauthorized } from "../Api.js"
import * as readResponse from "./readResponse.js"

const digest = (value: string) => crypto.createHash("sha256").update(value).digest()

/** Compares in constant time: the digests have one length whatever the input. */
const tokenMatches = (expected: Buffer, given: string) => crypto.timingSafeEqual(expected, digest(given))

/** The token of an `Authorization: Bearer <token>` header; nothing for a missing, malformed or empty one. */
const bearerToken = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header)
  return match?.[1]
}

const unauthorized = new Unauthorized({ message: "a valid bearer token is required" })

/** The challenge of RFC 6750 that a `401` carries: the scheme to authenticate with. */
const challenge = `Bearer realm="concord"`

/**
 * Refuses the request with a `401` that says how to authenticate. The middleware's failure is encoded by the platform,
 * which cannot give it a header, so the header is added to the response the failure becomes: on Node's response
 * itself (whose own headers the platform's are merged with), as the request's deadline runs the API in a fiber of its
 * own, whose failure leaves a pre-response handler behind; and by one where no such fiber is between.
 */
const refuse = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.zipRight(
    Effect.zipRight(
      Effect.sync(() => readResponse.nodeResponse(request)?.setHeader("www-authenticate", challenge)),
      HttpApp.appendPreResponseHandler((_request, response) =>
        Effect.succeed(
          response.status === 401 ? HttpServerResponse.setHeader(response, "www-authenticate", challenge) : response
        )
      )
    ),
    Effect.fail(unauthorized)
  )

/**
 * Whether a request's `Authorization` header carries the token, or any header when there is none: a well-formed bearer
 * token equal to it. The platform hands the middleware the header without its first seven characters, whatever they
 * were, and an empty token for a missing header: the header itself says whether it is a well-formed bearer token. A
 * request without one is refused before any comparison, so that it matches no token, an empty one included.
 *
 * @internal
 */
export const accepts = (token: Redacted.Redacted | undefined): (authorization: string | undefined) => boolean => {
  if (token === undefined) return () => true
  const expected = digest(Redacted.value(token))
  return (authorization) => {
    const given = bearerToken(authorization)
    return given !== undefined && tokenMatches(expected, given)
  }
}

const requireToken = (token: Redacted.Redacted) => {
  const accepted = accepts(token)
  return () =>
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) => accepted(request.headers.authorization) ? Effect.void : refuse(request)
    )
}

/**
 * The `Authorization` middleware: without a token every request passes; with one, every request must carry it.
 *
 * @internal
 */
export const layer = (token: Redacted.Redacted | undefined): Layer.Layer<Authorization> =>
  Layer.succeed(Authorization, { bearer: token === undefined ? () => Effect.void : requireToken(token) })
