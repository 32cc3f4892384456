// The short ways of the append endpoint answer exactly as the general way: the same requests, sent in the same order
// to the service on its Node server (the short way before the platform), to the app with its short way (as embedded)
// and to an app that sends every append through the middlewares, the router and the endpoint's decoding, get the same
// status, headers and body, each over a store of its own fed the same appends. The requests
// mix what the short way takes (plain stream ids, valid bodies, stale ones the rules accept or refuse, duplicate ids)
// with what it must leave to the general way (escapes, slashes, queries, other media types, a missing or wrong token,
// bodies too deep, inexact, unknown fields, not JSON), and the document's own valid and mutated requests.
import { EventStore } from "@concord/core"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, FastCheck as fc, Layer, Redacted } from "effect"
import * as http from "node:http"
import * as app from "../src/internal/app.js"
import * as fastAppend from "../src/internal/fastAppend.js"
import * as nodeServer from "../src/internal/nodeServer.js"
import * as subscriptions from "../src/internal/subscriptions.js"
import { invalidRequest, type Operation, toWire, validRequest, type Wire } from "./support/contractRequests.js"
import { crmRegistries, fetchDocument, type Json } from "./support/openApi.js"

const token = "a-token-of-twenty-characters"

/** How a service answers appends: the short way on Node's server, the short way in the app, or the general way. */
type Way = "node" | "app" | "general"

/** The service answering appends one way, over a fresh in-memory store, on a free port of loopback. */
const served = (way: Way, withToken: boolean) => {
  const options = {
    requestTimeout: Duration.seconds(13),
    registries: crmRegistries,
    token: withToken ? Redacted.make(token) : undefined
  }
  const server = way === "node"
    ? nodeServer.layer({ ...options, host: "127.0.0.1", port: 0, shutdownTimeout: Duration.seconds(2) })
    : app.make({ ...options, fastAppends: way === "app" }, subscriptions.make()).pipe(
      Layer.provideMerge(NodeHttpServer.layer(http.createServer, { port: 0, host: "127.0.0.1" }))
    )
  return server.pipe(Layer.provide(EventStore.layerMemory()))
}

const urlOf = <E>(layer: Layer.Layer<HttpServer.HttpServer, E>) =>
  Effect.map(Layer.build(layer), (context) => {
    const { address } = Context.get(context, HttpServer.HttpServer)
    return address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : ""
  })

const generatedId = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g

/** An answer as compared: status, the headers an answer's meaning rests on, and the body. */
const send = (url: string, { body, headers, method, target }: Wire) =>
  new Promise<unknown>((resolve, reject) => {
    const sent = http.request(`${url}${target}`, { method, agent: false, headers }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () =>
        resolve({
          status: response.statusCode,
          headers: Object.fromEntries(
            ["content-type", "content-length", "allow", "www-authenticate", "connection"].map((
              name
            ) => [name, response.headers[name]])
          ),
          // The ids the stores give events sent without one are random (a conflict's body names them): the same place.
          body: Buffer.concat(chunks).toString("utf8").replace(generatedId, "<generated id>")
        }))
      response.on("error", reject)
    })
    sent.on("error", reject)
    sent.end(body)
  })

const appendOperation = (document: Json): Operation => ({
  path: "/streams/{streamId}/events",
  method: "post",
  operation: document.paths["/streams/{streamId}/events"].post
})

/** Targets of the endpoint: plain stream ids (the short way's), and paths it leaves to the general way. */
const target = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom("client-acme", "client-b", "orders.1", "x~y_z", "a'b(c)*", "CaSe").map((id) =>
      `/streams/${id}/events`
    )
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "/streams/client%2Dacme/events", // the same stream, percent-encoded
      "/streams/client-acme/events/", // with a trailing slash, the same endpoint
      "/streams/client-acme/events?x=1",
      "/streams/a%20b/events",
      "/streams/%C3%BC/events",
      "/streams/a%2Fb/events",
      `/streams/${"x".repeat(513)}/events`, // longer than a stream id
      "/streams//events",
      "/streams/a;b/events",
      "/streams/%E0%A4%A/events"
    )
  }
)

const type = fc.constantFrom("ClientValueUpgraded", "MeetingNoteAdded", "ClientRegistered", "T", "")

/** Bodies the short way takes when they decode, and ones it leaves to the general way. */
const bodyText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      expectedVersion: fc.oneof(fc.constantFrom<unknown>("any", "noStream", -1, 1.5, "2"), fc.nat({ max: 4 })),
      events: fc.array(
        fc.record({
          id: fc.constantFrom("e1", "e2", ""),
          type,
          data: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ a: 1 })),
          metadata: fc.constantFrom<unknown>({ who: "joe" }, null, [])
        }, { requiredKeys: ["type", "data"] }),
        { maxLength: 3 }
      )
    }, { requiredKeys: ["expectedVersion", "events"] }).map((body) => JSON.stringify(body))
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "null",
      "{",
      `{"expectedVersion":0,"events":[],"metaData":1}`,
      `{"expectedVersion":0,"events":[{"type":"T","data":{"n":9007199254740993}}]}`,
      `{"expectedVersion":0,"events":[{"type":"T","data":${"[".repeat(70)}${"]".repeat(70)}}]}`,
      `{"expectedVersion":"any","events":[{"type":"T","data":{},"metadata":{"__proto__":{"x":1}}}]}`
    )
  }
)

const headers = fc.record({
  contentType: fc.constantFrom<string | undefined>(
    "application/json",
    "application/json",
    "Application/JSON; charset=UTF-8",
    "text/plain",
    undefined
  ),
  authorization: fc.constantFrom<string | undefined>(`Bearer ${token}`, `Bearer ${token}`, "Bearer wrong", undefined),
  chunked: fc.integer({ min: 0, max: 9 }).map((n) => n === 0)
})

/** A request of the mixes above, on the wire. */
const mixed: fc.Arbitrary<Wire> = fc.tuple(target, bodyText, headers).map(([path, text, h]) => {
  const body = Buffer.from(text)
  return {
    method: "POST",
    target: path,
    headers: {
      ...(h.contentType === undefined ? {} : { "content-type": h.contentType }),
      ...(h.authorization === undefined ? {} : { authorization: h.authorization }),
      ...(h.chunked ? { "transfer-encoding": "chunked" } : { "content-length": body.length })
    },
    body
  }
})

describe("the short way of appends", () => {
  for (const withToken of [false, true]) {
    it.live(
      `answers every request as the general way does${withToken ? ", with a token" : ""}`,
      () =>
        Effect.gen(function*() {
          const general = yield* urlOf(served("general", withToken))
          const shortWays = [yield* urlOf(served("node", withToken)), yield* urlOf(served("app", withToken))]
          const document = yield* fetchDocument(general, withToken ? token : undefined)
          const operation = appendOperation(document)
          const auth = withToken ? { authorization: `Bearer ${token}` } : {}
          const fromDocument = fc.oneof(validRequest(document, operation), invalidRequest(document, operation)).map((
            request
          ) => toWire(operation, request, auth))
          const requests = fc.array(fc.oneof({ weight: 3, arbitrary: mixed }, { weight: 1, arbitrary: fromDocument }), {
            minLength: 1,
            maxLength: 12
          })
          let taken = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(requests, async (sequence) => {
                for (const wire of sequence) {
                  const expected = await send(general, wire)
                  for (const url of shortWays) {
                    const shown = `${wire.method} ${wire.target} ${wire.body?.toString().slice(0, 300)}`
                    expect(await send(url, wire), shown).toEqual(expected)
                  }
                  if ((expected as { status: number }).status === 200) taken++
                }
              }),
              { numRuns: 60 }
            )
          )
          // The requests reached the store, not only the refusals.
          expect(taken).toBeGreaterThan(0)
        }).pipe(Effect.scoped),
      120_000
    )
  }

  it("takes plain appends with a body that decodes, and leaves the rest to the general way", () => {
    expect(fastAppend.appendPathStream("/streams/client-acme/events")).toBe("client-acme")
    for (const path of ["/streams/a%20b/events", "/streams/a/events/", "/streams/a/events?x=1", "/streams//events"]) {
      expect(fastAppend.appendPathStream(path), path).toBeUndefined()
    }
    expect(fastAppend.appendRequestOf(`{"expectedVersion":0,"events":[{"type":"T","data":{}}]}`)).toBeDefined()
    for (const text of ["", "{", `{"expectedVersion":0,"events":[],"x":1}`, `{"expectedVersion":0,"events":[1e400]}`]) {
      expect(fastAppend.appendRequestOf(text), text).toBeUndefined()
    }
  })
})
