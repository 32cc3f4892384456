// Fuzz of hostile appends against `concord serve` on SQLite over raw sockets: bodies of random content types, nested
// around and far beyond Event.maxDepth, to dot stream ids written raw, with Content-Lengths that lie, or empty. Every
// request is answered at once, with 4xx and a JSON body carrying the `_tag` the first hostile part of it calls for,
// never a 5xx, and the log never changes.
import { Event } from "@concord/core"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { appendAny, readLog } from "./support/http.js"
import { encode, exchange } from "./support/rawHttp.js"
import { type Running, startServer } from "./support/server.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-hostile-fuzz-"))
let server: Running
let port: number

beforeAll(async () => {
  server = await startServer(["--db", path.join(directory, "fuzz.db")])
  port = Number(new URL(server.url).port)
  // The one event the log holds: the service writes what it is given, and the requests below change nothing.
  await appendAny(server.url, "control", [{ type: "T", data: {} }])
}, 60_000)

afterAll(async () => {
  if (server !== undefined) expect(await server.stop()).toBe(0)
  fs.rmSync(directory, { recursive: true, force: true })
})

// -----------------------------------------------------------------------------
// what to send
// -----------------------------------------------------------------------------

/** Mostly what a client sends, sometimes hostile: two parts in three are benign. */
const mostly = <A>(benign: fc.Arbitrary<A>, hostile: fc.Arbitrary<A>) =>
  fc.oneof({ weight: 2, arbitrary: benign }, { weight: 1, arbitrary: hostile })

const contentType = mostly(
  fc.constantFrom("application/json", "application/json; charset=utf-8", "APPLICATION/JSON;charset=\"UTF-8\"")
    .map((value) => ({ value, json: true })),
  fc.oneof(
    fc.constantFrom(
      undefined,
      "",
      "multipart/form-data",
      "multipart/form-data; boundary=x",
      "application/octet-stream",
      "application/x-www-form-urlencoded",
      "text/plain",
      "text/plain; charset=utf-8",
      "application/json; charset=iso-8859-1",
      "application/jsonp",
      "application/ld+json"
    ),
    fc.stringMatching(/^[a-z]{1,8}\/[a-z0-9+.-]{1,12}$/).filter((value) => value !== "application/json")
  ).map((value) => ({ value, json: false }))
)

/**
 * How deep the event's data or metadata nests: mostly within the limit, often right at it, sometimes far past (the
 * bodies stay under the 1 MiB limit).
 */
const depth = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: Event.maxDepth }) },
  { weight: 4, arbitrary: fc.integer({ min: Event.maxDepth - 1, max: Event.maxDepth + 2 }) },
  { weight: 1, arbitrary: fc.integer({ min: Event.maxDepth + 1, max: 5_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50_000, max: 150_000 }) }
)

const nesting = fc.record({
  where: fc.constantFrom("data", "metadata"),
  depth,
  shape: fc.constantFrom("arrays", "objects")
})

const streamId = mostly(
  fc.integer({ min: 0, max: 1_000 }).map((n) => ({ raw: `fuzz-${n}`, valid: true })),
  fc.constantFrom("", ".", "..", "%2E", "%2e", "%2E%2E", ".%2E", "%2e.", "%2e%2E")
    .map((raw) => ({ raw, valid: false }))
)

type Length =
  | { readonly _tag: "Exact" }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Shorter"; readonly by: number }
  | { readonly _tag: "CutShort"; readonly missing: number }

/**
 * The declared length: the body's, or a lie either way (a body cut short ends with the connection), or none at all
 * (`Content-Length: 0` and no body).
 */
const length = mostly<Length>(
  fc.constant({ _tag: "Exact" }),
  fc.oneof(
    fc.constant<Length>({ _tag: "Empty" }),
    fc.integer({ min: 1, max: 2_000 }).map((by): Length => ({ _tag: "Shorter", by })),
    fc.integer({ min: 1, max: 2_000 }).map((missing): Length => ({ _tag: "CutShort", missing }))
  )
)

const hostile = fc.record({ contentType, nesting, streamId, length }).filter((request) =>
  !request.contentType.json || request.nesting.depth > Event.maxDepth || !request.streamId.valid ||
  request.length._tag !== "Exact"
)

type Hostile = typeof hostile extends fc.Arbitrary<infer A> ? A : never

const nested = (shape: string, depth: number) =>
  shape === "arrays"
    ? "[".repeat(depth) + "]".repeat(depth)
    : "{\"a\":".repeat(depth - 1) + "{}" + "}".repeat(depth - 1)

const bodyOf = ({ nesting: { depth, shape, where } }: Hostile) => {
  const value = nested(shape, depth)
  const event = where === "data"
    ? `{"type":"T","data":${value}}`
    : `{"type":"T","data":{},"metadata":${depth === 1 ? "{}" : `{"m":${nested(shape, depth - 1)}}`}}`
  return `{"expectedVersion":"any","events":[${event}]}`
}

// -----------------------------------------------------------------------------
// the oracle: which refusal comes first
// -----------------------------------------------------------------------------

const statuses: Record<string, number> = {
  UnsupportedMediaType: 415,
  MalformedRequest: 400,
  InvalidStreamId: 400,
  HttpApiDecodeError: 400
}

/**
 * The tags the first answer may carry. The service checks the content type, then the body's depth, then the stream
 * id. A body whose connection lies about its length is answered by the service or by Node's parser, whichever
 * comes first, and the parser answers `MalformedRequest`; a body shorter than declared is not JSON. An empty body
 * declared as JSON is read as `null`, which is no append request, before the stream id is looked at.
 */
const expectedTags = (request: Hostile): ReadonlyArray<string> => {
  const first = !request.contentType.json
    ? "UnsupportedMediaType"
    : request.length._tag === "Empty"
    ? "HttpApiDecodeError"
    : request.length._tag !== "Exact" || request.nesting.depth > Event.maxDepth
    ? "MalformedRequest"
    : "InvalidStreamId"
  return request.length._tag === "Exact" || request.length._tag === "Empty" ? [first] : [first, "MalformedRequest"]
}

// -----------------------------------------------------------------------------
// the property
// -----------------------------------------------------------------------------

describe("hostile appends, fuzzed", () => {
  it(
    "each is answered with a JSON 4xx carrying the tag of its first hostile part, and nothing is written",
    async () => {
      const log = await readLog(server.url)
      expect(log.length).toBe(1)
      const counts: Record<string, number> = {}
      await fc.assert(
        fc.asyncProperty(hostile, async (request) => {
          const body = request.length._tag === "Empty" ? "" : bodyOf(request)
          const bytes = Buffer.byteLength(body)
          const declared = request.length._tag === "Shorter"
            ? Math.max(1, bytes - request.length.by)
            : request.length._tag === "CutShort"
            ? bytes + request.length.missing
            : bytes
          const what = `${JSON.stringify(request)} (${bytes} bytes, declared ${declared})`
          const answer = await exchange(
            port,
            encode({
              method: "POST",
              path: `/streams/${request.streamId.raw}/events`,
              headers: request.contentType.value === undefined ? {} : { "content-type": request.contentType.value },
              body,
              contentLength: declared
            }),
            // Well before the request deadline, which a request the service did not refuse at once would wait out.
            { halfClose: request.length._tag === "CutShort", timeoutMs: 3_000 }
          )
          expect(answer.closed, `${what}: never closed, ${JSON.stringify(answer)}`).toBe(true)
          expect(answer.responses.length, `${what}: ${JSON.stringify(answer)}`).toBeGreaterThan(0)
          for (const response of answer.responses) {
            expect(response.headers["content-type"], `${what}: ${response.body}`).toBe("application/json")
            // Only the tags the oracle knows, each with its status: never a 5xx, nor a refusal from further in.
            expect(statuses[JSON.parse(response.body)._tag], `${what}: ${response.status} ${response.body}`)
              .toBe(response.status)
          }
          const first = JSON.parse(answer.responses[0]!.body)._tag as string
          expect(expectedTags(request), `${what}: ${answer.responses[0]!.body}`).toContain(first)
          counts[first] = (counts[first] ?? 0) + 1
          expect((await readLog(server.url)).length, what).toBe(1)
        }),
        { numRuns: 200 }
      )
      // The generators reach every kind of refusal (empty bodies declared as JSON are rarer).
      for (const tag of Object.keys(statuses)) {
        expect(counts[tag] ?? 0, JSON.stringify(counts)).toBeGreaterThan(tag === "HttpApiDecodeError" ? 0 : 10)
      }
      expect(await readLog(server.url)).toEqual(log)
    },
    120_000
  )
})
