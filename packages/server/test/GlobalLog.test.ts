// The global log over HTTP: GET /events pages it in order with positions and filters, GET /events/subscribe follows it
// as Server-Sent Events that a browser's EventSource reads, and both refuse bad parameters with a 400 naming them.
import { EventStore, Position } from "@concord/core"
import { Server } from "@concord/server"
import { Checker } from "@concord/testing"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import { createServer, type ServerResponse } from "node:http"
import { appendAny, getJson, readLog, readStream } from "./support/http.js"
import { baseUrl, serviceAt } from "./support/service.js"
import { follow, readUntil, toEvent } from "./support/sse.js"

// The service over a memory store the tests also reach directly, on a Node server whose subscription responses the
// tests can cut, as a network would.
const nodeServer = createServer()
const subscriptions = new Map<string, ServerResponse>()
nodeServer.on("request", (request, response) => {
  const name = new URL(request.url ?? "/", "http://x").searchParams.get("name")
  if (name !== null) subscriptions.set(name, response)
})

const service = Server.layerApp({ keepAliveInterval: "100 millis" }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => nodeServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(EventStore.layerMemory())
)

const localLog = (options?: EventStore.ReadAllOptions) =>
  Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readAll(options))).pipe(
    Effect.map(Chunk.toReadonlyArray)
  )

describe("the global log over HTTP", () => {
  // Live clock: the keep-alive comments and the subscriptions' waits are real time.
  layer(service, { excludeTestServices: true })((it) => {
    it.effect("GET /events: every event in log order with its position, paged by after and limit", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* Effect.promise(async () => {
          for (let round = 0; round < 4; round++) {
            for (const stream of ["pages-a", "pages-b", "pages-c"]) {
              await appendAny(url, stream, [{ type: "Noted", data: { round } }, { type: "Noted", data: { round } }])
            }
          }
        })
        const whole = yield* Effect.promise(() => getJson(`${url}/events`))
        expect(whole.status).toBe(200)
        const local = yield* localLog()
        // As the store's own readAll: same events, same order, positions as strings.
        expect(whole.body.events.map((e: any) => [e.id, e.position])).toEqual(
          local.map((e) => [e.id, Position.toString(e.position)])
        )
        const positions = whole.body.events.map((e: any) => Position.fromString(e.position)!)
        for (let i = 1; i < positions.length; i++) expect(Position.isAfter(positions[i], positions[i - 1])).toBe(true)
        // Pages of 5 read after the last position of the page before give the same log; a short page ends it.
        expect((yield* Effect.promise(() => readLog(url, "", 5))).map((e) => e.id)).toEqual(local.map((e) => e.id))
        const third = whole.body.events[2].position
        const after = yield* Effect.promise(() => getJson(`${url}/events?after=${third}&limit=3`))
        expect(after.body.events.map((e: any) => e.id)).toEqual(local.slice(3, 6).map((e) => e.id))
        expect((yield* Effect.promise(() => getJson(`${url}/events?limit=0`))).body).toEqual({ events: [] })
        const last = whole.body.events.at(-1).position
        expect((yield* Effect.promise(() => getJson(`${url}/events?after=${last}`))).body).toEqual({ events: [] })
      }))

    it.effect("GET /events: types and categories keep the matching events; an empty list matches none", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* Effect.promise(async () => {
          await appendAny(url, "filtera-1", [{ type: "Opened", data: {} }, { type: "Noted", data: {} }])
          await appendAny(url, "filterb-1", [{ type: "Opened", data: {} }, { type: "Closed", data: {} }])
          await appendAny(url, "filterc", [{ type: "Noted", data: {} }])
        })
        const cases: ReadonlyArray<readonly [string, EventStore.Filter]> = [
          ["types=Opened", { types: ["Opened"] }],
          ["types=Opened,Closed", { types: ["Opened", "Closed"] }],
          ["categories=filtera,filterc", { categories: ["filtera", "filterc"] }],
          ["categories=filterb&types=Closed,Noted", { categories: ["filterb"], types: ["Closed", "Noted"] }],
          ["types=", { types: [] }],
          ["categories=", { categories: [] }]
        ]
        for (const [query, filter] of cases) {
          const page = yield* Effect.promise(() => getJson(`${url}/events?${query}`))
          expect(page.status, query).toBe(200)
          const expected = (yield* localLog({ filter })).map((e) => e.id)
          expect(page.body.events.map((e: any) => e.id), query).toEqual(expected)
          if (query.endsWith("=")) expect(expected).toEqual([])
          else expect(expected.length, query).toBeGreaterThan(0)
        }
      }))

    it.effect("bad after, limit, types, categories and Last-Event-ID get a JSON 400 naming the parameter", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const cases: ReadonlyArray<readonly [string, string, Record<string, string>?]> = [
          ["after=x", "after"],
          ["after=-1", "after"],
          ["after=1.2.3", "after"],
          ["after=18446744073709551616", "after"],
          ["limit=10001", "limit"],
          ["types=a,,b", "types"],
          ["types=" + "t".repeat(257), "types"],
          ["categories=client-1", "categories"],
          ["categories=a,", "categories"]
        ]
        for (const path of ["/events", "/events/subscribe"]) {
          for (const [query, parameter] of cases) {
            if (path === "/events/subscribe" && parameter === "limit") continue
            const response = yield* Effect.promise(() => getJson(`${url}${path}?${query}`))
            expect(response.status, `${path}?${query}`).toBe(400)
            expect(response.body._tag).toBe("HttpApiDecodeError")
            expect(response.body.issues[0].path[0], `${path}?${query}`).toBe(parameter)
          }
        }
        const header = yield* Effect.promise(() =>
          getJson(`${url}/events/subscribe`, { "last-event-id": "not-a-position" })
        )
        expect(header.status).toBe(400)
        expect(header.body.issues[0].path[0]).toBe("last-event-id")
        // `end` means something to a subscription only.
        expect((yield* Effect.promise(() => getJson(`${url}/events?after=end`))).status).toBe(400)
      }))

    it.effect("stream reads carry each event's position in the global log", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* Effect.promise(async () => {
          await appendAny(url, "positions-a", [{ type: "Noted", data: {} }])
          await appendAny(url, "positions-b", [{ type: "Noted", data: {} }])
          await appendAny(url, "positions-a", [{ type: "Noted", data: {} }, { type: "Noted", data: {} }])
        })
        const log = yield* Effect.promise(() => readLog(url))
        const streams = new Map(
          yield* Effect.promise(() =>
            Promise.all(["positions-a", "positions-b"].map(async (id) => [id, await readStream(url, id)] as const))
          )
        )
        expect(streams.get("positions-a")!.map((e) => Position.toString(e.position))).toEqual(
          log.filter((e) => e.streamId === "positions-a").map((e) => Position.toString(e.position))
        )
        Checker.assertLog({ log: log.filter((e) => e.streamId.startsWith("positions-")), streams })
      }))

    it.effect("each message's id is the event's position and its data the event's JSON exactly as GET /events has it", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* Effect.promise(() =>
          appendAny(url, "wire-1", [{ type: "Noted", data: { text: "two\nlines\r\n and é😀 \u2028", n: 1.5 } }])
        )
        const page = yield* Effect.promise(() => getJson(`${url}/events?categories=wire`))
        const expected = page.body.events.map((e: any) => ({ id: e.position, data: JSON.stringify(e) }))
        const read = yield* Effect.promise(() =>
          readUntil(`${url}/events/subscribe?categories=wire`, (messages) => messages.some((m) => m.data))
        )
        expect(read.status).toBe(200)
        expect(read.contentType).toMatch(/^text\/event-stream/)
        expect(read.messages.filter((m) => !m.comment).map(({ data, id }) => ({ id, data }))).toEqual(expected)
        // The text of GET /events itself holds each event as that JSON.
        expect(page.text).toContain(expected[0].data)
      }))

    it.effect("an idle subscription gets a comment line every keep-alive interval", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const started = Date.now()
        const read = yield* Effect.promise(() =>
          readUntil(
            `${url}/events/subscribe?categories=idle`,
            (messages) => messages.filter((m) => m.comment).length >= 4
          )
        )
        // The opening comment, then one every 100 ms.
        expect(read.messages.every((m) => m.comment)).toBe(true)
        expect(Date.now() - started).toBeLessThan(5_000)
        expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      }))

    it.effect(
      "subscribers from the start, midway and after reconnecting with Last-Event-ID, while 20 writers append, " +
        "get every event exactly once and in order",
      () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          yield* Effect.promise(() => followUnderLoad(url))
        }),
      120_000
    )
  })
})

/** The load test: subscribers of every kind while writers append, audited against GET /events. */
const followUnderLoad = async (url: string) => {
  await appendAny(url, "loadseed-1", Array.from({ length: 6 }, (_, i) => ({ type: "Seeded", data: { i } })))
  const seeded = await readLog(url)
  const midway = seeded.at(-3)!.position
  const filter = { types: ["Bumped"], categories: ["loada", "loadc"] }
  const subscribers = {
    start: follow(`${url}/events/subscribe?name=start`),
    midway: follow(`${url}/events/subscribe?name=midway&after=${Position.toString(midway)}`),
    filtered: follow(`${url}/events/subscribe?name=filtered&types=Bumped&categories=loada,loadc`),
    // Its connection is cut twice during the run: it reconnects by itself, sending Last-Event-ID.
    cut: follow(`${url}/events/subscribe?name=cut`)
  }
  // A plain reader that leaves after its first 20 events and comes back with Last-Event-ID.
  const firstRun = readUntil(`${url}/events/subscribe`, (messages) => messages.filter((m) => m.data).length >= 20)

  const streams = ["loada-1", "loada-2", "loadb-1", "loadb-2", "loadc-1"]
  const written: Array<string> = []
  const writer = async (w: number) => {
    for (let i = 0; i < 12; i++) {
      const events = Array.from({ length: 1 + ((w + i) % 3) }, (_, k) => {
        const id = `w${w}-${i}-${k}`
        written.push(id)
        return { id, type: (w + i + k) % 2 === 0 ? "Bumped" : "Noted", data: { w, i, k } }
      })
      await appendAny(url, streams[(w * 7 + i) % streams.length]!, events)
      if (w === 0 && (i === 3 || i === 8)) subscriptions.get("cut")?.destroy()
    }
  }
  await Promise.all(Array.from({ length: 20 }, (_, w) => writer(w)))

  const log = await readLog(url)
  const last = Position.toString(log.at(-1)!.position)
  // Every acknowledged event is in the log once.
  const logged = log.map((e) => e.id as string)
  expect(new Set(logged).size).toBe(logged.length)
  for (const id of written) expect(logged).toContain(id)

  const first = await firstRun
  const resumeAfter = first.messages.filter((m) => m.data).at(-1)!.id!
  const secondRun = await readUntil(
    `${url}/events/subscribe`,
    (messages) => messages.some((m) => m.id === last),
    { "last-event-id": resumeAfter }
  )
  const lastFiltered = Position.toString(log.filter((e) => EventStore.matches(e, filter)).at(-1)!.position)
  await Promise.all([
    subscribers.start.reached(last),
    subscribers.midway.reached(last),
    subscribers.cut.reached(last),
    subscribers.filtered.reached(lastFiltered)
  ])
  for (const subscriber of Object.values(subscribers)) subscriber.close()

  Checker.assertSubscription({ delivered: subscribers.start.events(), log }, "the subscriber from the start")
  Checker.assertSubscription({ delivered: subscribers.midway.events(), log, after: midway }, "the midway subscriber")
  Checker.assertSubscription({ delivered: subscribers.filtered.events(), log, filter }, "the filtered subscriber")
  Checker.assertSubscription({ delivered: subscribers.cut.events(), log }, "the subscriber cut twice")
  expect(subscribers.cut.opened()).toBe(3)
  const plain = [...first.messages, ...secondRun.messages].filter((m) => m.data).map((m) => toEvent(m.data!))
  Checker.assertSubscription({ delivered: plain, log }, "the plain reader that came back")
  // Each message's id is its event's position.
  expect(subscribers.start.ids).toEqual(subscribers.start.events().map((e) => Position.toString(e.position)))
  expect(subscribers.filtered.events().length).toBeGreaterThan(0)
}

describe("the global log over HTTP, with a token", () => {
  const token = "s3cret-token-of-22-chars"
  layer(serviceAt({ token: Redacted.make(token) }))((it) => {
    it.effect("both endpoints require it", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        for (const path of ["/events", "/events/subscribe"]) {
          for (const headers of [{}, { authorization: "Bearer wrong-token-but-long-enough" }]) {
            expect((yield* Effect.promise(() => getJson(`${url}${path}`, headers))).status, path).toBe(401)
          }
        }
        expect((yield* Effect.promise(() => getJson(`${url}/events`, { authorization: `Bearer ${token}` }))).status)
          .toBe(200)
        const read = yield* Effect.promise(() =>
          readUntil(`${url}/events/subscribe`, (messages) => messages.length > 0, { authorization: `Bearer ${token}` })
        )
        expect(read.status).toBe(200)
      }))
  })
})
