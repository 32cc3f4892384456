import {
  HttpApiBuilder,
  type HttpApp,
  type HttpRouter,
  HttpServerError,
  type HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { ConcordApi, MethodNotAllowed, NotFound } from "../Api.js"

const isRouteNotFound = (error: unknown): error is HttpServerError.RouteNotFound =>
  HttpServerError.isServerError(error) && error._tag === "RouteNotFound"

const decoded = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * Whether a route's path, as the router was given it, has the shape of a request's path, as the router reads it:
 * `:name` is any one segment, `*` the rest, other segments match decoded and whatever their case; a trailing slash is
 * ignored.
 */
const hasShape = (route: string, pathname: string): boolean => {
  const wanted = route.split("/")
  const given = (pathname.length > 1 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname).split("/")
  for (let i = 0; i < wanted.length; i++) {
    const segment = wanted[i]!
    if (segment === "*") return true
    if (i >= given.length) return false
    if (!segment.startsWith(":") && segment.toLowerCase() !== decoded(given[i]!).toLowerCase()) return false
  }
  return wanted.length === given.length
}

/** The methods the router has for a path, `HEAD` wherever it has `GET` (which answers it). */
const allowedMethods = (routes: Chunk.Chunk<HttpRouter.Route<unknown, unknown>>, pathname: string) => {
  const methods = new Set<string>()
  for (const route of routes) {
    if (hasShape(route.path, pathname)) {
      methods.add(route.method)
      if (route.method === "GET") methods.add("HEAD")
    }
  }
  return [...methods]
}

const encodeNotFound = Schema.encodeSync(NotFound)
const encodeMethodNotAllowed = Schema.encodeSync(MethodNotAllowed)

/** How a path is shown in a message: JSON-quoted, and cut short. */
const shown = (pathname: string) => JSON.stringify(pathname.length > 200 ? `${pathname.slice(0, 200)}…` : pathname)

const answer = (router: HttpRouter.HttpRouter<unknown, unknown>, request: HttpServerRequest.HttpServerRequest) => {
  const pathname = request.url.split("?", 1)[0]!
  const allowed = allowedMethods(router.routes, pathname).filter((method) => method !== request.method)
  if (allowed.length === 0) {
    return HttpServerResponse.unsafeJson(
      encodeNotFound(new NotFound({ message: `no endpoint has the path ${shown(pathname)}` })),
      { status: 404 }
    )
  }
  const message = `the path ${shown(pathname)} takes ${allowed.join(", ")}, not ${request.method}`
  return HttpServerResponse.unsafeJson(encodeMethodNotAllowed(new MethodNotAllowed({ message, allowed })), {
    status: 405,
    headers: { allow: allowed.join(", ") }
  })
}

/**
 * Answers a request the router has no route for with JSON, as every other error: `MethodNotAllowed` (405, with
 * `Allow`) when a route has its path with other methods, `NotFound` (404) otherwise. The router alone answers a bare
 * 404 with no body.
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
