import { EventStore, type StreamId } from "@concord/core"
import {
  HttpApiBuilder,
  type HttpApp,
  HttpIncomingMessage,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { Readable } from "node:stream"
import { AppendRequest, ConcordApi } from "../Api.js"
import type * as Registries from "../Registries.js"
import * as appendRequest from "./appendRequest.js"
import type * as appendWarnings from "./appendWarnings.js"
import * as authorization from "./authorization.js"
import * as bodyDepth from "./bodyDepth.js"
import * as handlers from "./handlers.js"
import * as requestGuard from "./requestGuard.js"

/**
 * The append endpoint's path as the fast path takes it: a stream id of at most 512 characters that are all read as they
 * are written (no percent-encoding, which the router would decode, no `;`, `#` or `?`, which it would cut the path at),
 * and no trailing slash. Any other path goes the general way, which answers it as the document says.
 */
const appendPath = /^\/streams\/([\w\-.~!$&'()*+,=:@]{1,512})\/events$/

/** The route the router would have matched, as it names it on the request's span. */
const appendRoute = "/streams/:streamId/events"

const decodeRequest = Schema.decodeUnknownEither(AppendRequest)
/**
 * The successful answer's body: the result as the endpoint's success schema encodes it, which for the result a store
 * gives is its four fields as they are, in the schema's order (no field of `AppendResult` has an encoding of its own).
 *
 * @internal
 */
export const encodedResult = (result: EventStore.AppendResult): typeof EventStore.AppendResult.Encoded => ({
  streamId: result.streamId,
  firstVersion: result.firstVersion,
  lastVersion: result.lastVersion,
  rebasedOver: result.rebasedOver
})

/**
 * The stream id of a path the fast path takes as it is written (see {@link appendPath}), or `undefined`.
 *
 * @internal
 */
export const appendPathStream = (url: string): string | undefined => appendPath.exec(url)?.[1]

/**
 * The append request a body holds, when the general path would take it as it is: it nests no deeper than the limit,
 * holds only numbers JavaScript carries exactly, parses, and decodes as an `AppendRequest`. `undefined` for any other
 * body, which the general path then refuses with the answer that says why.
 *
 * @internal
 */
export const appendRequestOf = (text: string): typeof AppendRequest.Type | undefined => {
  if (text === "" || bodyDepth.scan(text, bodyDepth.maxBodyDepth) !== undefined) return undefined
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const common = appendRequest.decodeCommon(json)
  if (common !== undefined) return common
  const decoded = decodeRequest(json)
  return Either.isRight(decoded) ? decoded.right : undefined
}

/** A request on Node's server as the platform makes it: its body's text effect, kept once read, not read yet. */
interface UnreadNodeRequest {
  textEffect: Effect.Effect<string, HttpServerError.RequestError> | undefined
}

const isUnreadNodeRequest = (request: object, source: unknown): request is UnreadNodeRequest =>
  source instanceof Readable && "textEffect" in request && request.textEffect === undefined

/**
 * A request's body as text, read as the platform reads it (UTF-8), and kept by the request as the platform keeps it
 * (its `text` is then this text, or this failure), so that the general path reads the same body again: on Node's
 * server, straight from the stream, where the platform reads it through a cached effect run in a fiber of its own
 * (several times the work for a body of a few hundred bytes). Elsewhere, the platform's reading, within the limit.
 */
const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBodyBytes: number
): Effect.Effect<string, HttpServerError.RequestError> => {
  const source: unknown = NodeHttpServerRequest.toIncomingMessage(request)
  if (!isUnreadNodeRequest(request, source) || !(source instanceof Readable)) {
    return HttpIncomingMessage.withMaxBodySize(request.text, Option.some(maxBodyBytes))
  }
  return Effect.async<string, HttpServerError.RequestError>((resume) => {
    let text = ""
    const settle = (effect: Effect.Effect<string, HttpServerError.RequestError>) => {
      source.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose)
      request.textEffect = effect
      resume(effect)
    }
    const onData = (chunk: string) => (text += chunk)
    const onEnd = () => settle(Effect.succeed(text))
    const onError = (cause: unknown) =>
      settle(Effect.fail(new HttpServerError.RequestError({ request, reason: "Decode", cause })))
    const onClose = () => onError(new Error("the connection closed before the body ended"))
    source.setEncoding("utf8")
    source.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose)
    return Effect.sync(() => source.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose))
  })
}

/** Names the route on the request's span, as the router does for a request it routes. */
const annotateRoute = Effect.map(Effect.serviceOption(Tracer.ParentSpan), (span) => {
  if (Option.isSome(span) && span.value._tag === "Span") span.value.attribute("http.route", appendRoute)
})

/**
 * The successful answer, as the endpoint's success schema encodes it: the result as JSON, status 200.
 *
 * @internal
 */
export const answer = (result: EventStore.AppendResult): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(encodedResult(result), { status: 200, contentType: "application/json" })

/**
 * The stream id of a request the fast path may take, or `undefined`: a `POST` to the append endpoint with a plain
 * stream id (see {@link appendPath}) that decodes, the right token, and headers the `RequestGuard` lets through.
 */
const eligible = (
  request: HttpServerRequest.HttpServerRequest,
  options: Options,
  accepted: (authorization: string | undefined) => boolean
): { readonly raw: string; readonly streamId: StreamId.StreamId } | undefined => {
  if (request.method !== "POST") return undefined
  const raw = appendPathStream(request.url)
  if (
    raw === undefined || !accepted(request.headers.authorization) ||
    requestGuard.refusal(
        request.method,
        request.headers["content-length"],
        request.headers["content-type"],
        options.maxBodyBytes
      ) !== undefined
  ) {
    return undefined
  }
  const streamId = handlers.decodeStreamIdEither(raw)
  return Either.isRight(streamId) ? { raw, streamId: streamId.right } : undefined
}

/**
 * What the fast path needs of the service's options.
 *
 * @internal
 */
export interface Options {
  readonly maxBodyBytes: number
  readonly token: Redacted.Redacted | undefined
  readonly registries: Registries.Registries
  readonly warnings: appendWarnings.AppendWarnings
}

/**
 * The append endpoint's common case the short way: a request the general path would hand to the store as it is (the
 * right token, headers the `RequestGuard` lets through, a plain path, a body that scans, parses and decodes) is
 * answered here with the same handler (the store called, watched and traced the same way), its success encoded
 * by the same schema, its failures left to the API's encoding of errors as the endpoint's are. Everything else, any
 * doubt included, goes the general way, through the middlewares, the router and the endpoint's decoding, which answer
 * it as the document says: nothing is decided here that the general path would decide otherwise, and nothing is done
 * before the store is called that the general path could not do again (the body read is kept by the request).
 *
 * Placed inside the request's deadline, which covers it as it does the general path, and outside the middlewares that
 * answer what the router and the endpoints' decoding refuse: it leaves all of that to them.
 *
 * @internal
 */
export const layer = (options: Options) =>
  HttpApiBuilder.middleware(
    ConcordApi,
    Effect.map(EventStore.EventStore, (store) => {
      const append = handlers.appendTo(store, options.registries, options.warnings)
      const accepted = authorization.accepts(options.token)
      return (app: HttpApp.Default): HttpApp.Default =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
          const target = eligible(request, options, accepted)
          if (target === undefined) return app
          // Interruptibly, as the RequestGuard reads it: a body that never ends must not hold its request past the
          // deadline.
          return Effect.matchEffect(Effect.interruptible(readBody(request, options.maxBodyBytes)), {
            onFailure: () => app,
            onSuccess: (text) => {
              const payload = appendRequestOf(text)
              if (payload === undefined) return app
              // The app's type says it never fails: the endpoint's errors, which the API encodes as it does the
              // endpoint's own, are failures all the same.
              return Effect.zipRight(
                annotateRoute,
                Effect.map(append(target.raw, target.streamId, payload), answer)
              ) as unknown as HttpApp.Default
            }
          })
        })
    })
  )
