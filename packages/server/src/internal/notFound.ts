import { StreamId } from "@concord/core"
import {
  HttpApiBuilder,
  type HttpApp,
  type HttpRouter,
  HttpServerError,
  type HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ConcordApi, InvalidStreamId, MethodNotAllowed, NotFound } from "../Api.js"
import * as routing from "./routing.js"

const isRouteNotFound = (error: unknown): error is HttpServerError.RouteNotFound =>
  HttpServerError.isServerError(error) && error._tag === "RouteNotFound"

/** The methods the router has for a path, `HEAD` wherever it has `GET` (which answers it). */
const allowedMethods = (routes: Chunk.Chunk<HttpRouter.Route<unknown, unknown>>, pathname: string) => {
  const methods = new Set<string>()
  for (const route of routes) {
    if (routing.hasShape(route.path, pathname)) {
      methods.add(route.method)
      if (route.method === "GET") methods.add("HEAD")
    }
  }
  return [...methods]
}

const encodeNotFound = Schema.encodeSync(NotFound)
const encodeMethodNotAllowed = Schema.encodeSync(MethodNotAllowed)
const encodeInvalidStreamId = Schema.encodeSync(InvalidStreamId)
const decodeStreamId = Schema.decodeUnknownEither(StreamId.StreamId)

/** How a path is shown in a message: JSON-quoted, and cut short. */
const shown = (pathname: string) => JSON.stringify(pathname.length > 200 ? `${pathname.slice(0, 200)}…` : pathname)

const notFound = (pathname: string) =>
  HttpServerResponse.unsafeJson(
    encodeNotFound(new NotFound({ message: `no endpoint has the path ${shown(pathname)}` })),
    { status: 404 }
  )

/**
 * The answer to a request a route has the path and method of, which the router refused all the same: it does so only
 * for a parameter longer than its `maxParamLength`, and the only parameter is a stream id, far longer than any stream
 * can have. It is answered as the endpoint answers a stream id it refuses, with the same message.
 */
const refusedParameter = (route: string, pathname: string) => {
  const at = route.split("/").indexOf(":streamId")
  const segment = routing.pathOf(pathname).split("/")[at] ?? ""
  const decoded = at === -1 ? Either.right(undefined) : decodeStreamId(routing.parameterValue(segment) ?? segment)
  if (Either.isRight(decoded)) return notFound(pathname)
  const message = `invalid stream id: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`
  return HttpServerResponse.unsafeJson(encodeInvalidStreamId(new InvalidStreamId({ message })), { status: 400 })
}

const answer = (router: HttpRouter.HttpRouter<unknown, unknown>, request: HttpServerRequest.HttpServerRequest) => {
  const pathname = request.url.split("?", 1)[0]!
  const own = router.routes.pipe(
    Chunk.findFirst((route) => routing.answers(route, request.method) && routing.hasShape(route.path, pathname))
  )
  if (Option.isSome(own)) return refusedParameter(own.value.path, pathname)
  const allowed = allowedMethods(router.routes, pathname).filter((method) => method !== request.method)
  if (allowed.length === 0) return notFound(pathname)
  const message = `the path ${shown(pathname)} takes ${allowed.join(", ")}, not ${request.method}`
  return HttpServerResponse.unsafeJson(encodeMethodNotAllowed(new MethodNotAllowed({ message, allowed })), {
    status: 405,
    headers: { allow: allowed.join(", ") }
  })
}

/**
 * Answers a request the router has no route for with JSON, as every other error: `InvalidStreamId` (400) when a route
 * has its path and method, which the router refused for a stream id longer than it reads (thousands of characters,
 * where a stream id has at most 512); `MethodNotAllowed` (405, with `Allow`) when a route has its path with other
 * methods; `NotFound` (404) otherwise. The router alone answers a bare 404 with no body.
 *
 * @internal
 */
export const layer: Layer.Layer<never> = HttpApiBuilder.middleware(
  ConcordApi,
  // The router's routes are read when a request needs them: they are not all added yet when this middleware is.
  Effect.map(HttpApiBuilder.Router, (routes) => (app: HttpApp.Default) =>
    // The app's type says it never fails: the router's RouteNotFound is an error all the same.
    Effect.catchIf(
      app as HttpApp.Default<unknown>,
      isRouteNotFound,
      (error) => Effect.map(routes.router, (router) => answer(router, error.request))
    ) as HttpApp.Default)
).pipe(Layer.provide(HttpApiBuilder.Router.Live))
