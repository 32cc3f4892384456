// `GET /metrics` after a known sequence of requests: the counters (the service's HTTP counts and the store's counts by
// outcome) moved by exactly what was done, whichever way the appends were answered (the short way on Node's server, the short way in the app, the general way), over the memory
// store and over SQLite; the route is a template, never a stream id; behind the token; absent when turned off.
import { EventStore } from "@concord/core"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { describe, expect, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { crmRegistries } from "./support/openApi.js"
import { type Exposition, parse } from "./support/prometheus.js"
import { nodeServiceUrl } from "./support/service.js"

const token = "a-token-of-twenty-characters"

type Way = "node" | "app" | "general"

interface Setup {
  readonly way: Way
  readonly store: Layer.Layer<EventStore.EventStore, unknown>
  readonly token?: string
  readonly metrics?: boolean
}

/** The service on Node's server, answering appends one way, on a free port of loopback. */
const urlOf = (setup: Setup) =>
  nodeServiceUrl({
    registries: crmRegistries,
    token: setup.token === undefined ? undefined : Redacted.make(setup.token),
    metrics: setup.metrics,
    nodeAppends: setup.way === "node",
    fastAppends: setup.way !== "general"
  }, setup.store)

const request = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
  })

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.map(
    request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    }),
    ({ status }) => status
  )

const scrape = (url: string, headers: Record<string, string> = {}) =>
  Effect.map(request(`${url}/metrics`, { headers }), ({ status, text, type }) => {
    expect(status).toBe(200)
    expect(type).toBe("text/plain; version=0.0.4; charset=utf-8")
    return parse(text)
  })

const registered = { type: "ClientRegistered", data: { name: "a", value: 1 } }
const upgrade = (value: number) => ({ type: "ClientValueUpgraded", data: { value } })
const note = (text: string) => ({ type: "MeetingNoteAdded", data: { noteId: text, author: "h", text } })

const appendRoute = "/streams/{streamId}/events"

/** What the sequence did, as the counters should tell it. */
interface Done {
  readonly accepted: number
  readonly rebased: number
  readonly conflicts: number
  readonly wrongVersions: number
  readonly invalid: number
  readonly reads: number
  readonly versions: number
  readonly notFound: number
  /** Events of the accepted appends. */
  readonly events: number
}

/**
 * A known sequence on fresh streams: per stream, one registration and one upgrade accepted, a note rebased past the
 * upgrade, a downgrade in conflict with it, and an append far ahead of the stream's end; then bodies the endpoint
 * refuses, reads, version reads and paths no endpoint has. Every status checked as it comes.
 */
const sequence = (url: string, prefix: string, streams: number) =>
  Effect.gen(function*() {
    for (let s = 0; s < streams; s++) {
      const stream = `${url}/streams/${prefix}-${s}/events`
      expect(yield* post(stream, { expectedVersion: "noStream", events: [registered] })).toBe(200)
      expect(yield* post(stream, { expectedVersion: 1, events: [upgrade(3)] })).toBe(200)
      expect(yield* post(stream, { expectedVersion: 1, events: [note("n"), note("m")] })).toBe(200)
      expect(yield* post(stream, { expectedVersion: 1, events: [upgrade(4)] })).toBe(409)
      expect(yield* post(stream, { expectedVersion: 99, events: [note("x")] })).toBe(409)
    }
    const invalid = ["{", "{}", JSON.stringify({ expectedVersion: "any", events: [], extra: 1 })]
    for (const body of invalid) expect(yield* post(`${url}/streams/${prefix}-0/events`, body)).toBe(400)
    for (let s = 0; s < streams; s++) {
      expect((yield* request(`${url}/streams/${prefix}-${s}/events?from=2`)).status).toBe(200)
      expect((yield* request(`${url}/streams/${prefix}-${s}`)).status).toBe(200)
    }
    for (const missing of ["/nope", `/streams/${prefix}-0/events/more`, "/streams"]) {
      expect((yield* request(`${url}${missing}`)).status).toBe(404)
    }
    return {
      accepted: 2 * streams,
      rebased: streams,
      conflicts: streams,
      wrongVersions: streams,
      invalid: invalid.length,
      reads: streams,
      versions: streams,
      notFound: 3,
      events: 4 * streams
    } satisfies Done
  })

const delta = (before: Exposition, after: Exposition, name: string, labels: Record<string, string>) =>
  after.sum(name, labels) - before.sum(name, labels)

const requests = "concord_http_requests_total"
const durations = "concord_http_request_duration_seconds_count"

const expectCounted = (before: Exposition, after: Exposition, done: Done, prefix: string) => {
  const posts = done.accepted + done.rebased + done.conflicts + done.wrongVersions + done.invalid
  const count = (labels: Record<string, string>) => delta(before, after, requests, labels)
  expect({
    appended: count({ method: "POST", route: appendRoute, status: "200" }),
    refused: count({ method: "POST", route: appendRoute, status: "409" }),
    invalid: count({ method: "POST", route: appendRoute, status: "400" }),
    reads: count({ method: "GET", route: appendRoute, status: "200" }),
    versions: count({ method: "GET", route: "/streams/{streamId}", status: "200" }),
    notFound: count({ method: "GET", route: "other", status: "404" }),
    // The scrape before this one, counted once answered.
    scrapes: count({ method: "GET", route: "/metrics", status: "200" }),
    all: count({}),
    timedPosts: delta(before, after, durations, { method: "POST", route: appendRoute }),
    timed: delta(before, after, durations, {})
  }).toEqual({
    appended: done.accepted + done.rebased,
    refused: done.conflicts + done.wrongVersions,
    invalid: done.invalid,
    reads: done.reads,
    versions: done.versions,
    notFound: done.notFound,
    scrapes: 1,
    all: posts + done.reads + done.versions + done.notFound + 1,
    timedPosts: posts,
    timed: posts + done.reads + done.versions + done.notFound + 1
  })
  // The appends by outcome, from core's Telemetry and, for the bodies refused before the store, the service.
  const appends = (outcome: string) => delta(before, after, "concord_appends_total", { outcome })
  expect({
    accepted: appends("accepted"),
    rebased: appends("rebased"),
    conflict: appends("conflict"),
    wrongVersion: appends("wrong_version"),
    invalid: appends("invalid"),
    events: delta(before, after, "concord_events_appended_total", {}),
    timed: delta(before, after, "concord_append_duration_seconds_count", {})
  }).toEqual({
    accepted: done.accepted,
    rebased: done.rebased,
    conflict: done.conflicts,
    wrongVersion: done.wrongVersions,
    invalid: done.invalid,
    events: done.events,
    timed: done.accepted + done.rebased + done.conflicts + done.wrongVersions
  })
  // Routes are templates: no stream id is ever a label.
  for (const sample of after.samples) {
    for (const value of Object.values(sample.labels)) expect(value).not.toContain(prefix)
  }
}

const memory = EventStore.layerMemory()

const sqlite = () =>
  SqliteEventStore.layer({
    filename: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "concord-metrics-")), "metrics.db")
  })

describe("GET /metrics", () => {
  for (const way of ["node", "app", "general"] as const) {
    it.scoped(`counts every request by method, route and status, appends answered the ${way} way`, () =>
      Effect.gen(function*() {
        const url = yield* urlOf({ way, store: memory })
        const prefix = `client-metrics-${way}`
        const before = yield* scrape(url)
        const done = yield* sequence(url, prefix, 3)
        expectCounted(before, yield* scrape(url), done, prefix)
      }))
  }

  it.scoped("counts the same over SQLite, the short way on Node's server", () =>
    Effect.gen(function*() {
      const url = yield* urlOf({ way: "node", store: sqlite() })
      const before = yield* scrape(url)
      const done = yield* sequence(url, "client-metrics-sqlite", 2)
      expectCounted(before, yield* scrape(url), done, "client-metrics-sqlite")
    }))

  it.scoped("is behind the token, as every other route, and counts the refusals", () =>
    Effect.gen(function*() {
      const url = yield* urlOf({ way: "node", store: memory, token })
      const authorized = { authorization: `Bearer ${token}` }
      const before = yield* scrape(url, authorized)
      const refused = yield* request(`${url}/metrics`)
      expect(refused.status).toBe(401)
      expect(JSON.parse(refused.text)._tag).toBe("Unauthorized")
      expect(
        (yield* request(`${url}/metrics`, { headers: { authorization: "Bearer wrong-token-of-20-chars" } })).status
      )
        .toBe(401)
      // An append without the token goes the general way, refused there.
      expect(yield* post(`${url}/streams/metrics-token/events`, { expectedVersion: "any", events: [note("a")] }))
        .toBe(401)
      expect(
        yield* post(`${url}/streams/metrics-token/events`, { expectedVersion: "any", events: [note("a")] }, authorized)
      )
        .toBe(200)
      const after = yield* scrape(url, authorized)
      expect(delta(before, after, requests, { method: "GET", route: "/metrics", status: "401" })).toBe(2)
      expect(delta(before, after, requests, { method: "POST", route: appendRoute, status: "401" })).toBe(1)
      expect(delta(before, after, requests, { method: "POST", route: appendRoute, status: "200" })).toBe(1)
    }))

  it.scoped("is a path like any other the service has not when turned off: 404, counted as route other", () =>
    Effect.gen(function*() {
      const url = yield* urlOf({ way: "node", store: memory, metrics: false })
      const off = yield* request(`${url}/metrics`)
      expect(off.status).toBe(404)
      expect(JSON.parse(off.text)._tag).toBe("NotFound")
      expect((yield* request(`${url}/metrics`, { method: "POST" })).status).toBe(404)
      const on = yield* urlOf({ way: "node", store: memory })
      const after = yield* scrape(on)
      expect(after.value(requests, { method: "GET", route: "other", status: "404" })).toBeGreaterThanOrEqual(1)
    }))

  it.scoped("answers only GET and HEAD", () =>
    Effect.gen(function*() {
      const url = yield* urlOf({ way: "node", store: memory })
      const head = yield* request(`${url}/metrics`, { method: "HEAD" })
      expect([head.status, head.type, head.text]).toEqual([200, "text/plain; version=0.0.4; charset=utf-8", ""])
      const refused = yield* request(`${url}/metrics`, { method: "DELETE" })
      expect(refused.status).toBe(405)
    }))
})
