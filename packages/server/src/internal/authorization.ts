import { HttpServerRequest } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as crypto from "node:crypto"
import { Authorization, Unauthorized } from "../Api.js"

const digest = (value: string) => crypto.createHash("sha256").update(value).digest()

/** Compares in constant time: the digests have one length whatever the input. */
const tokenMatches = (expected: Buffer, given: string) => crypto.timingSafeEqual(expected, digest(given))

/** The token of an `Authorization: Bearer <token>` header; nothing for a missing, malformed or empty one. */
const bearerToken = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header)
  return match?.[1]
}

const unauthorized = new Unauthorized({ message: "a valid bearer token is required" })

const requireToken = (token: Redacted.Redacted) => {
  const expected = digest(Redacted.value(token))
  // The platform hands over the header without its first seven characters, whatever they were, and an empty token
  // for a missing header: the header itself says whether it is a well-formed bearer token. A request without one is
  // refused before any comparison, so that it matches no token, an empty one included.
  return () =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const given = bearerToken(request.headers.authorization)
      return given !== undefined && tokenMatches(expected, given) ? Effect.void : Effect.fail(unauthorized)
    })
}

/**
 * The `Authorization` middleware: without a token every request passes; with one, every request must carry it.
 *
 * @internal
 */
export const layer = (token: Redacted.Redacted | undefined): Layer.Layer<Authorization> =>
  Layer.succeed(Authorization, { bearer: token === undefined ? () => Effect.void : requireToken(token) })
