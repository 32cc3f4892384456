// What each request leaves behind besides its answer: its route template, and at debug level one line that says
// method, route, path, status and duration, never the body or the token, whichever way the request was answered.
import { EventStore } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, HashMap, Layer, Logger, LogLevel, Redacted } from "effect"
import * as http from "node:http"
import * as httpMetrics from "../src/internal/httpMetrics.js"
import { crmRegistries } from "./support/openApi.js"
import { parse } from "./support/prometheus.js"
import { nodeServiceUrl } from "./support/service.js"

const token = "a-token-of-twenty-characters"
const secret = "SECRET-EVENT-DATA"

describe("the route of a request", () => {
  const routeOf = httpMetrics.routeOf([
    "/streams/:streamId/events",
    "/streams/:streamId",
    "/events",
    "/events/subscribe",
    "/health",
    "/docs",
    "/docs/openapi.json"
  ])

  it("is the template of the path the router would match, whatever the stream id, query or method", () => {
    expect([
      "/streams/a/events",
      "/streams/a%2Fb/events?from=3",
      "/streams/x/events/",
      "/streams/%73/events",
      "/streams//events",
      "/%73treams/a/events",
      "/streams/a",
      "/events?after=1",
      "/events/subscribe",
      "/docs",
      "/docs/openapi.json",
      "/health"
    ].map(routeOf)).toEqual([
      "/streams/{streamId}/events",
      "/streams/{streamId}/events",
      "/streams/{streamId}/events",
      "/streams/{streamId}/events",
      "/streams/{streamId}/events",
      "/streams/{streamId}/events",
      "/streams/{streamId}",
      "/events",
      "/events/subscribe",
      "/docs",
      "/docs/openapi.json",
      "/health"
    ])
  })

  it("is `other` for a path no route has", () => {
    expect(
      ["/", "/nope", "/streams", "/streams/a/events/b", "/Health", "/Streams/a/events", "/docs/x", "/%ZZ"].map(routeOf)
    )
      .toEqual(Array(8).fill("other"))
  })
})

interface Line {
  readonly level: string
  readonly message: unknown
  readonly annotations: Record<string, unknown>
  readonly cause: string | undefined
}

const capture = () => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message[0] : message,
      annotations: Object.fromEntries(HashMap.toEntries(annotations)),
      // What a line says beyond its message: where request data could leak (a failed request fiber's cause).
      cause: Cause.isEmpty(cause) ? undefined : Cause.pretty(cause, { renderErrorCause: true })
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** A request on a connection of its own, any method. */
const send = (url: string, method: string, target: string, body?: string, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    new Promise<number>((resolve, reject) => {
      const request = http.request(`${url}${target}`, {
        method,
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }),
          ...headers
        }
      }, (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode!))
      })
      request.on("error", reject)
      request.end(body)
    })
  )

const served = (way: "node" | "general", level: LogLevel.LogLevel) =>
  nodeServiceUrl({
    registries: crmRegistries,
    token: Redacted.make(token),
    nodeAppends: way === "node",
    fastAppends: way === "node"
  }, Layer.merge(EventStore.layerMemory(), Logger.minimumLogLevel(level)))

const append = (expectedVersion: unknown, type: string, data: Record<string, unknown>) =>
  JSON.stringify({ expectedVersion, events: [{ type, data: { ...data, secret } }] })

/** Requests of every kind, their statuses checked. */
const requests = (url: string) =>
  Effect.gen(function*() {
    const stream = "/streams/client-debug/events"
    expect(yield* send(url, "POST", stream, append("noStream", "ClientRegistered", { name: "a", value: 1 }))).toBe(200)
    expect(yield* send(url, "POST", stream, append(1, "ClientValueUpgraded", { value: 2 }))).toBe(200)
    expect(yield* send(url, "POST", stream, append(1, "ClientValueUpgraded", { value: 3 }))).toBe(409)
    expect(yield* send(url, "POST", stream, `{"expectedVersion":"any","events":[],"${secret}":1}`)).toBe(400)
    expect(yield* send(url, "GET", `${stream}?from=1&limit=5`)).toBe(200)
    expect(yield* send(url, "GET", "/nope")).toBe(404)
    expect(yield* send(url, "GET", "/health", undefined, { authorization: "Bearer wrong-token-0123456789" })).toBe(401)
    expect(yield* send(url, "PROPFIND", "/health")).toBe(405)
  })

describe("the request's debug line", () => {
  for (const way of ["node", "general"] as const) {
    it.scoped(`says method, route, path, status and duration, never the body or the token, answered the ${way} way`, () => {
      const { layer, lines } = capture()
      return Effect.gen(function*() {
        const url = yield* served(way, LogLevel.Debug)
        yield* requests(url)
        const requestLines = lines.filter((line) => line.message === "request")
        for (const line of requestLines) {
          expect(line.level).toBe("DEBUG")
          expect(Object.keys(line.annotations).sort()).toEqual(["durationMs", "method", "path", "route", "status"])
          expect(typeof line.annotations.durationMs).toBe("number")
        }
        expect(requestLines.map(({ annotations: { method, path, route, status } }) => [method, route, path, status]))
          .toEqual([
            ["POST", "/streams/{streamId}/events", "/streams/client-debug/events", 200],
            ["POST", "/streams/{streamId}/events", "/streams/client-debug/events", 200],
            ["POST", "/streams/{streamId}/events", "/streams/client-debug/events", 409],
            ["POST", "/streams/{streamId}/events", "/streams/client-debug/events", 400],
            ["GET", "/streams/{streamId}/events", "/streams/client-debug/events", 200],
            ["GET", "other", "/nope", 404],
            ["GET", "/health", "/health", 401],
            ["PROPFIND", "/health", "/health", 405]
          ])
        // The conflict's pairs, at debug too: types and versions only.
        const conflict = lines.filter((line) => line.message === "conflict")
        expect(conflict.map((line) => [line.level, line.annotations.pairs])).toEqual([
          ["DEBUG", "ClientValueUpgraded#0xClientValueUpgraded@2"]
        ])
        const everything = JSON.stringify(lines)
        expect(everything).not.toContain(secret)
        expect(everything).not.toContain(token)
        expect(everything).not.toContain("wrong-token")
      }).pipe(Effect.provide(layer))
    })

    it.scoped(`is not written at the default level, nor any line an append, answered the ${way} way`, () => {
      const { layer, lines } = capture()
      return Effect.gen(function*() {
        const url = yield* served(way, LogLevel.Info)
        yield* requests(url)
        expect(lines).toEqual([])
      }).pipe(Effect.provide(layer))
    })
  }

  it.scoped("counts a method the service does not know as `other`", () =>
    Effect.gen(function*() {
      const url = yield* served("node", LogLevel.Info)
      yield* send(url, "PROPFIND", "/health")
      const text = yield* Effect.promise(() =>
        fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text())
      )
      expect(parse(text).value("concord_http_requests_total", { method: "other", route: "/health", status: "405" }))
        .toBeGreaterThanOrEqual(1)
      expect(parse(text).samples.filter((s) => s.labels.method === "PROPFIND")).toEqual([])
    }))
})
