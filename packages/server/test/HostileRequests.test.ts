// Requests a careful client never sends, against `concord serve` on SQLite over raw sockets: each is answered at once
// with a 4xx whose JSON body carries the declared `_tag`, and nothing is written.
import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { readLog, readStream } from "./support/http.js"
import { encode, exchange, type RawExchange, type RawRequest } from "./support/rawHttp.js"
import { type Running, startServer } from "./support/server.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-hostile-"))
let server: Running
let port: number

beforeAll(async () => {
  server = await startServer(["--db", path.join(directory, "hostile.db")])
  port = Number(new URL(server.url).port)
}, 60_000)

afterAll(async () => {
  if (server !== undefined) expect(await server.stop()).toBe(0)
  fs.rmSync(directory, { recursive: true, force: true })
})

const json = { "content-type": "application/json" }

/** An append request's body whose only event has this data (JSON text) and metadata. */
const append = (data: string, metadata?: string) =>
  `{"expectedVersion":"any","events":[{"type":"T","data":${data}${
    metadata === undefined ? "" : `,"metadata":${metadata}`
  }}]}`

const arrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
const objects = (depth: number) => "{\"a\":".repeat(depth - 1) + "{}" + "}".repeat(depth - 1)

const send = (request: RawRequest, options?: Parameters<typeof exchange>[2]) => exchange(port, encode(request), options)

/** One answer, JSON with the tag and a message, and the connection closed after it. */
const expectRefusal = (answer: RawExchange, status: number, tag: string, what: string) => {
  expect(answer.responses.map((r) => r.status), `${what}: ${JSON.stringify(answer)}`).toEqual([status])
  const response = answer.responses[0]!
  expect(response.headers["content-type"], what).toBe("application/json")
  const body = JSON.parse(response.body)
  expect(body._tag, what).toBe(tag)
  expect(body.message, what).toEqual(expect.any(String))
  expect(answer.closed, what).toBe(true)
  return body as { readonly _tag: string; readonly message: string } & Record<string, unknown>
}

const versionOf = async (streamId: string) => (await readStream(server.url, streamId)).length

describe("hostile requests, answered with JSON and nothing written", () => {
  it("a body not declared as JSON gets 415 before it is read, even multipart that would be waited for", async () => {
    const body = append("{}")
    for (
      const contentType of [
        "multipart/form-data",
        "multipart/form-data; boundary=abc",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin1",
        "application/jsonx",
        "application/merge-patch+json",
        "text/plain; x=application/json",
        ""
      ]
    ) {
      const answer = await send({
        method: "POST",
        path: "/streams/media/events",
        headers: { "content-type": contentType },
        body
      })
      const refused = expectRefusal(answer, 415, "UnsupportedMediaType", contentType)
      expect(refused.message).toContain(JSON.stringify(contentType))
    }
    const none = expectRefusal(
      await send({ method: "POST", path: "/streams/media/events", body }),
      415,
      "UnsupportedMediaType",
      "none"
    )
    expect(none.message).toContain("not none")
    // A multipart body of which only the start has come: the answer does not wait for the rest.
    const partial = await send(
      {
        method: "POST",
        path: "/streams/media/events",
        headers: { "content-type": "multipart/form-data; boundary=abc" },
        body: "--abc\r\ncontent-disposition: form-data; name=\"a\"\r\n\r\nb",
        contentLength: 10_000
      },
      { responses: 1, timeoutMs: 3_000 }
    )
    expect(partial.responses.map((r) => [r.status, JSON.parse(r.body)._tag])).toEqual([[415, "UnsupportedMediaType"]])
    expect(await versionOf("media")).toBe(0)
    for (
      const contentType of ["application/json", "Application/JSON; charset=UTF-8", "application/json;charset=\"utf-8\""]
    ) {
      const answer = await send({
        method: "POST",
        path: "/streams/media/events",
        headers: { "content-type": contentType },
        body
      })
      expect(answer.responses.map((r) => r.status), contentType).toEqual([200])
    }
    expect(await versionOf("media")).toBe(3)
  })

  it("an empty POST not declared as JSON gets 415 at once, an empty one declared as JSON 400, neither waited for", async () => {
    // Each answered well before the request deadline (8 s), which an empty body of another type used to wait out.
    const types = [
      "multipart/form-data",
      "multipart/form-data; boundary=abc",
      "application/octet-stream",
      "text/plain",
      "application/x-www-form-urlencoded",
      "",
      undefined
    ]
    for (const contentType of types) {
      for (
        const [target, status, tag] of [
          ["/streams/empty/events", 415, "UnsupportedMediaType"],
          ["/streams/%2E/events", 415, "UnsupportedMediaType"],
          // No endpoint has the path, or not the method: the router's answers, whatever the body.
          ["/nope", 404, "NotFound"],
          ["/health", 405, "MethodNotAllowed"]
        ] as const
      ) {
        const what = `${target} ${contentType ?? "none"}`
        const started = Date.now()
        const answer = await send(
          {
            method: "POST",
            path: target,
            headers: contentType === undefined ? {} : { "content-type": contentType },
            body: ""
          },
          { timeoutMs: 3_000 }
        )
        expectRefusal(answer, status, tag, what)
        expect(Date.now() - started, what).toBeLessThan(2_000)
      }
    }
    // Declared as JSON, an empty body is read as null: not an append request.
    for (const target of ["/streams/empty/events", "/streams/%2E/events"]) {
      const started = Date.now()
      const answer = await send({ method: "POST", path: target, headers: json, body: "" }, { timeoutMs: 3_000 })
      expect(expectRefusal(answer, 400, "HttpApiDecodeError", target).message).toContain("AppendRequest")
      expect(Date.now() - started, target).toBeLessThan(2_000)
    }
    expect(await versionOf("empty")).toBe(0)
  })

  it("data or metadata nested past Event.maxDepth gets 400 naming the limit; at Event.maxDepth it is stored", async () => {
    const limit = Event.maxDepth
    const accepted = [
      append(arrays(limit)),
      append(objects(limit)),
      append("{}", objects(limit)),
      append("{}", `{"a":${arrays(limit - 1)}}`),
      // Brackets in strings are not nesting, escaped quotes included.
      append(JSON.stringify("[{".repeat(5_000)), JSON.stringify({ a: "\"[[[\\\"{{{" + "[".repeat(200) }))
    ]
    for (const body of accepted) {
      const answer = await send({ method: "POST", path: "/streams/depth/events", headers: json, body })
      expect(answer.responses.map((r) => r.status), answer.responses[0]?.body).toEqual([200])
    }
    const refused = [
      append(arrays(limit + 1)),
      append(objects(limit + 1)),
      append("{}", objects(limit + 1)),
      append("{}", `{"a":${arrays(limit)}}`),
      append(arrays(5_000)),
      append(objects(5_000), arrays(5_000)),
      append(arrays(400_000)),
      `{"expectedVersion":${arrays(100)},"events":[]}`,
      arrays(100_000)
    ]
    for (const body of refused) {
      const what = `${body.slice(0, 60)}… (${body.length} bytes)`
      const answer = await send({ method: "POST", path: "/streams/depth/events", headers: json, body })
      const refusal = expectRefusal(answer, 400, "MalformedRequest", what)
      expect(refusal.message, what).toContain(`at most ${limit} deep (Event.maxDepth)`)
    }
    const stored = await readStream(server.url, "depth")
    expect(stored.length).toBe(accepted.length)
    expect(stored.map((event) => ({ data: event.data, metadata: event.metadata }))).toEqual(
      accepted.map((body) => {
        const event = JSON.parse(body).events[0]
        return { data: event.data, metadata: event.metadata ?? {} }
      })
    )
  })

  it.effect("the service's depth limit is the stores': Event.maxDepth accepted, one more refused", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const streamId = StreamId.make("depth")
      const at = (depth: number) => [{ type: "T", data: JSON.parse(arrays(depth)) }]
      yield* store.append(streamId, ExpectedVersion.any, at(Event.maxDepth))
      const refused = yield* Effect.flip(store.append(streamId, ExpectedVersion.any, at(Event.maxDepth + 1)))
      expect(refused._tag).toBe("InvalidEventData")
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it("a path no endpoint has gets 404 NotFound, a method its endpoint lacks 405 MethodNotAllowed with Allow", async () => {
    const unknown = ["GET /nope", "GET /streams/", "GET //health", "GET /streams/a/events/x", "POST /nope"]
    for (const [method, target] of unknown.map((line) => line.split(" ") as [string, string])) {
      const body = method === "POST" ? append("{}") : undefined
      const answer = await send({ method, path: target, headers: json, ...(body === undefined ? {} : { body }) })
      expect(expectRefusal(answer, 404, "NotFound", `${method} ${target}`).message).toContain(JSON.stringify(target))
    }
    // What a request to an endpoint must declare is no concern of a path no endpoint has: still 404, not 411 or 415.
    for (
      const request of [
        { method: "POST", path: "/nope", headers: { "content-type": "text/plain" }, body: "hello" },
        { method: "POST", path: "/nope" },
        { method: "POST", path: "/streams/a/events/x", headers: { "content-type": "multipart/form-data" }, body: "" }
      ]
    ) {
      const what = `${request.method} ${request.path} ${JSON.stringify(request.headers ?? {})}`
      expect(expectRefusal(await send(request), 404, "NotFound", what).message).toContain(JSON.stringify(request.path))
    }
    const head = await send({ method: "HEAD", path: "/nope" }, { bodiless: true })
    expect(head.responses.map((r) => [r.status, r.headers["content-type"]])).toEqual([[404, "application/json"]])
    for (
      const [method, target, allowed] of [
        ["DELETE", "/streams/a", ["GET", "HEAD"]],
        ["PUT", "/streams/a/events", ["GET", "HEAD", "POST"]],
        ["POST", "/health", ["GET", "HEAD"]],
        ["PATCH", "/events", ["GET", "HEAD"]],
        ["OPTIONS", "/docs", ["GET", "HEAD"]]
      ] as const
    ) {
      // A POST to a path that has no POST is answered 405 whatever it declares.
      const answer = await send({ method, path: target, ...(method === "POST" ? { body: "" } : {}) })
      const refusal = expectRefusal(answer, 405, "MethodNotAllowed", `${method} ${target}`)
      expect([...(refusal.allowed as Array<string>)].sort()).toEqual(allowed)
      expect(answer.responses[0]!.headers["allow"]!.split(", ").sort()).toEqual(allowed)
    }
    expect(await versionOf("a")).toBe(0)
  })

  it("an empty or dot stream id gets 400 InvalidStreamId however it is written, and reaches no other stream", async () => {
    const before = await readLog(server.url)
    for (const id of ["", ".", "..", "%2E", "%2e", "%2E%2E", ".%2E", "%2e.", "%2e%2E"]) {
      // The router ignores a trailing slash, so `/streams/` is no stream's (404) and `/streams//` the empty id's.
      for (const target of [`/streams/${id}/events`, id === "" ? "/streams//" : `/streams/${id}`]) {
        expectRefusal(await send({ method: "GET", path: target }), 400, "InvalidStreamId", `GET ${target}`)
      }
      const post = await send({ method: "POST", path: `/streams/${id}/events`, headers: json, body: append("{}") })
      expectRefusal(post, 400, "InvalidStreamId", `POST /streams/${id}/events`)
    }
    expect(await readLog(server.url)).toEqual(before)
    expect(await versionOf("events")).toBe(0)
  })

  it("a stream id too long for the router gets 400 InvalidStreamId, as one it routes; past Node's limit 431", async () => {
    const before = await readLog(server.url)
    for (const length of [513, 2048, 2049, 10_000]) {
      for (
        const [name, id] of [["ASCII", "a".repeat(length)], ["é", encodeURIComponent("é".repeat(length))]] as const
      ) {
        for (
          const [method, target] of [
            ["GET", `/streams/${id}`],
            ["HEAD", `/streams/${id}`],
            ["GET", `/streams/${id}/events`],
            ["POST", `/streams/${id}/events`]
          ] as const
        ) {
          const what = `${method} ${target.replace(id, `<${length} × ${name}>`)}`
          const request = method === "POST" ? { headers: json, body: append("{}") } : {}
          const answer = await send({ method, path: target, ...request }, { bodiless: method === "HEAD" })
          // Node reads at most 16 KiB of request line and headers.
          const tooLarge = target.length > 16_000
          if (method === "HEAD") {
            expect(answer.responses.map((r) => r.status), what).toEqual([tooLarge ? 431 : 400])
          } else if (tooLarge) {
            expectRefusal(answer, 431, "HeadersTooLarge", what)
          } else {
            const refusal = expectRefusal(answer, 400, "InvalidStreamId", what)
            expect(refusal.message, what).toContain("a stream id must be at most 512 characters")
          }
        }
      }
    }
    // A method the path's endpoints lack is still that.
    const put = await send({ method: "PUT", path: `/streams/${"a".repeat(3_000)}/events` })
    expect(expectRefusal(put, 405, "MethodNotAllowed", "PUT").allowed).toEqual(expect.arrayContaining(["GET", "POST"]))
    expect(await readLog(server.url)).toEqual(before)
  })

  it("bytes past a body longer than its Content-Length get a JSON 400 and the connection is closed", async () => {
    const body = append("{\"n\":1}")
    for (const declared of [1, 20, body.length - 1]) {
      const answer = await send({
        method: "POST",
        path: "/streams/lying/events",
        headers: json,
        body,
        contentLength: declared
      })
      expect(answer.closed, String(declared)).toBe(true)
      expect(answer.responses.length, JSON.stringify(answer)).toBeGreaterThan(0)
      for (const response of answer.responses) {
        expect(response.status, response.body).toBe(400)
        expect(response.headers["content-type"]).toBe("application/json")
        expect(JSON.parse(response.body)._tag).toBe("MalformedRequest")
      }
    }
    const notHttp = await exchange(port, Buffer.from("HELLO\r\n\r\n"))
    expectRefusal(notHttp, 400, "MalformedRequest", "not HTTP")
    expect(await versionOf("lying")).toBe(0)
  })

  it("a body cut short by the end of the connection gets a JSON 400", async () => {
    const body = append("{\"n\":1}")
    const answer = await send(
      { method: "POST", path: "/streams/short/events", headers: json, body, contentLength: body.length + 100 },
      { halfClose: true }
    )
    expect(expectRefusal(answer, 400, "MalformedRequest", "cut short").message).toContain("ended before")
    expect(await versionOf("short")).toBe(0)
  })

  it("a request line and headers over Node's limit get 431 HeadersTooLarge in JSON", async () => {
    const answer = await send({ method: "GET", path: "/health", headers: { "x-padding": "a".repeat(20_000) } })
    expectRefusal(answer, 431, "HeadersTooLarge", "headers too large")
  })
})
