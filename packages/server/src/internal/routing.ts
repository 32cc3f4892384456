import type { HttpRouter } from "@effect/platform"
import type * as Chunk from "effect/Chunk"

/**
 * How the service's router reads paths (find-my-way's options). It matches paths as they are written: a router that
 * ignores letter case matches a lower-cased copy of the path but cuts parameters out of the path itself, so a path
 * whose lower case is longer (`İ` lower-cased is two characters) reaches no route or a wrong cut, and stream ids that
 * differ only in case are distinct streams. Slashes are not merged: `/streams//events` is the empty stream id's
 * (refused), not stream `events`'s. Stream ids run to 512 characters, the router's default limit is 100.
 *
 * @internal
 */
export const routerConfig: Parameters<typeof HttpRouter.setRouterConfig>[0] = {
  caseSensitive: true,
  ignoreDuplicateSlashes: false,
  ignoreTrailingSlash: true,
  maxParamLength: 2048
}

/**
 * The path of a request's URL as the router reads it, still percent-encoded: without scheme and host, up to the first
 * `?`, `;` or `#`, and without one trailing slash.
 *
 * @internal
 */
export const pathOf = (url: string): string => {
  const target = url.startsWith("/") ? url : url.replace(/^https?:\/\/.*?\//, "/")
  const path = target.slice(0, 1) + /^[^?;#]*/.exec(target.slice(1))![0]
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path
}

/**
 * Whether a segment of a path is a route's fixed segment `name` as the router reads it: percent-decoded (as
 * `decodeURI` decodes, so an escaped `/` stays escaped), in the same letter case.
 *
 * @internal
 */
export const isFixedSegment = (segment: string | undefined, name: string): boolean => {
  if (segment === undefined) return false
  try {
    return decodeURI(segment) === name
  } catch {
    return false
  }
}

/**
 * A parameter's value as the router gives it: its segment wholly percent-decoded, or `undefined` when it is not valid
 * percent-encoded UTF-8 (the router then matches no route).
 *
 * @internal
 */
export const parameterValue = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/**
 * Whether a route's path, as the router was given it, has the shape of a request's path, read as the router reads it
 * (see {@link pathOf}): `:name` is any one segment, `*` the rest, other segments match percent-decoded.
 *
 * @internal
 */
export const hasShape = (route: string, pathname: string): boolean => {
  const wanted = route.split("/")
  const given = pathOf(pathname).split("/")
  for (let i = 0; i < wanted.length; i++) {
    const segment = wanted[i]!
    if (segment === "*") return true
    if (i >= given.length) return false
    if (!segment.startsWith(":") && !isFixedSegment(given[i], segment)) return false
  }
  return wanted.length === given.length
}

/**
 * Whether a route answers a method: its own, and `HEAD` where it has `GET`.
 *
 * @internal
 */
export const answers = (route: HttpRouter.Route<unknown, unknown>, method: string): boolean =>
  route.method === method || (method === "HEAD" && route.method === "GET")

/**
 * Whether one of the routes has a request's method and the shape of its path (the router may still refuse a parameter
 * longer than it reads, which is then that endpoint's refusal). A pass over a handful of routes, no router built.
 *
 * @internal
 */
export const isRouted = (
  routes: Chunk.Chunk<HttpRouter.Route<unknown, unknown>>,
  method: string,
  url: string
): boolean => {
  const pathname = url.split("?", 1)[0]!
  for (const route of routes) {
    if (answers(route, method) && hasShape(route.path, pathname)) return true
  }
  return false
}
