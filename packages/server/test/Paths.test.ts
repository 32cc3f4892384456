// Request paths and the streams they name, against `concord serve` on SQLite over raw sockets (sent as written, no
// client normalising them): a percent-encoded stream id reaches that stream and no other, its case and characters kept
// (`İ`, `/`, 512 of them); a path that cannot name a stream is a JSON 400 or 404 and touches nothing.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as FindMyWay from "find-my-way-ts"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as deadline from "../src/internal/deadline.js"
import * as routing from "../src/internal/routing.js"
import { readLog } from "./support/http.js"
import { encode, exchange } from "./support/rawHttp.js"
import { type Running, startServer } from "./support/server.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-paths-"))
let server: Running
let port: number

beforeAll(async () => {
  server = await startServer(["--db", path.join(directory, "paths.db")])
  port = Number(new URL(server.url).port)
}, 60_000)

afterAll(async () => {
  if (server !== undefined) expect(await server.stop()).toBe(0)
  fs.rmSync(directory, { recursive: true, force: true })
})

const appendBody = JSON.stringify({ expectedVersion: "any", events: [{ type: "T", data: {} }] })

interface Answer {
  readonly status: number
  readonly body: any
}

/** One request, its path sent exactly as given, and its JSON answer. */
const send = async (method: "GET" | "POST", target: string): Promise<Answer> => {
  const request = method === "POST"
    ? { method, path: target, headers: { "content-type": "application/json" }, body: appendBody }
    : { method, path: target }
  const answer = await exchange(port, encode(request))
  expect(answer.responses.length, `${method} ${target}: ${JSON.stringify(answer)}`).toBe(1)
  const response = answer.responses[0]!
  expect(response.headers["content-type"], `${method} ${target}`).toBe("application/json")
  // A read's body may come in chunks: the whole of it is one JSON document.
  return { status: response.status, body: JSON.parse(response.body) }
}

const expectRefused = (answer: Answer, status: 400 | 404, tag: string, what: string) => {
  expect([answer.status, answer.body._tag], `${what}: ${JSON.stringify(answer.body)}`).toEqual([status, tag])
  expect(answer.body.message, what).toEqual(expect.any(String))
}

/** The stream ids of the events the log gained while `run` ran, in order. */
const streamsWritten = async (run: () => Promise<void>): Promise<Array<string>> => {
  const before = (await readLog(server.url)).length
  await run()
  return (await readLog(server.url)).slice(before).map((event) => event.streamId)
}

/** Appends to `id` through its percent-encoded path, then reads it back and its version: each names `id`. */
const expectStream = async (id: string, version: number) => {
  const encoded = encodeURIComponent(id)
  const appended = await send("POST", `/streams/${encoded}/events`)
  expect([appended.status, appended.body.streamId], JSON.stringify(appended.body)).toEqual([200, id])
  expect(appended.body.lastVersion).toBe(version)
  const read = await send("GET", `/streams/${encoded}/events`)
  expect(read.status).toBe(200)
  expect(read.body.events.map((event: { streamId: string }) => event.streamId)).toEqual(Array(version).fill(id))
  expect((await send("GET", `/streams/${encoded}`)).body).toEqual({ streamId: id, version })
}

const versionOf = async (id: string) => (await send("GET", `/streams/${encodeURIComponent(id)}`)).body.version

describe("paths and the streams they name", () => {
  it("a stream id holding İ, whose lower case is longer, is that stream: append, read and version", async () => {
    const ids = ["İ", "İstanbul", "aİb", "İİİ", "DİYARBAKIR"]
    expect(
      await streamsWritten(async () => {
        for (const id of ids) await expectStream(id, 1)
      })
    ).toEqual(ids)
    // Its lower case (i + combining dot) and the dotless i are other streams, untouched.
    for (const id of ["i̇", "i", "istanbul"]) expect(await versionOf(id), id).toBe(0)
  })

  it("case is kept: /streams/ABC and /streams/abc are two streams; fixed segments match only as written", async () => {
    expect(
      await streamsWritten(async () => {
        await expectStream("ABC", 1)
        await expectStream("ABC", 2)
        await expectStream("abc", 1)
        for (
          const target of [
            "/STREAMS/abc/events",
            "/Streams/abc/events",
            "/streams/abc/EVENTS",
            "/streams/abc/Events",
            "/STREAMS/abc"
          ]
        ) {
          for (const method of ["GET", "POST"] as const) {
            expectRefused(await send(method, target), 404, "NotFound", `${method} ${target}`)
          }
        }
      })
    ).toEqual(["ABC", "ABC", "abc"])
    expect(await versionOf("ABC")).toBe(2)
    expect(await versionOf("Abc")).toBe(0)
  })

  it("an id holding / is that id end to end when percent-encoded; unencoded, the slash names no stream", async () => {
    const ids = ["a/b", "/", "a/", "/b", "x//y"]
    expect(
      await streamsWritten(async () => {
        for (const id of ids) await expectStream(id, 1)
        // Lower-case hexadecimal digits are the same escape.
        expect((await send("GET", "/streams/a%2fb")).body).toEqual({ streamId: "a/b", version: 1 })
        for (const target of ["/streams/a/b/events", "/streams/x//y/events", "/streams/a/b"]) {
          for (const method of ["GET", "POST"] as const) {
            expectRefused(await send(method, target), 404, "NotFound", `${method} ${target}`)
          }
        }
      })
    ).toEqual(ids)
    for (const id of ["a", "b", "x", "y", "events"]) expect(await versionOf(id), id).toBe(0)
  })

  it("an empty, NUL, dot or badly encoded stream id is a JSON 400, and touches no stream", async () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      // The empty id's, never stream `events`'s.
      ["/streams//events", "InvalidStreamId"],
      ["/streams//", "InvalidStreamId"],
      ["/streams/%00/events", "InvalidStreamId"],
      ["/streams/a%00b/events", "InvalidStreamId"],
      ["/streams/%00", "InvalidStreamId"],
      ["/streams/./events", "InvalidStreamId"],
      ["/streams/../events", "InvalidStreamId"],
      ["/streams/.", "InvalidStreamId"],
      ["/streams/..", "InvalidStreamId"],
      ["/streams/%2E%2E/events", "InvalidStreamId"],
      // A lone surrogate (U+D800 as UTF-8 would have it), a cut escape, a bare `%`: no text at all.
      ["/streams/%ED%A0%80/events", "MalformedRequest"],
      ["/streams/a%ED%A0%80/events", "MalformedRequest"],
      ["/streams/%ED%A0%80", "MalformedRequest"],
      ["/streams/%E0%A4%A/events", "MalformedRequest"],
      ["/streams/%/events", "MalformedRequest"],
      ["/streams/%C4/events", "MalformedRequest"],
      // A raw `;` or `#`, which the router reads as a query's start: stream `a`'s version endpoint otherwise.
      ["/streams/a;b/events", "MalformedRequest"],
      ["/streams/a;/events", "MalformedRequest"],
      ["/streams/a#b/events", "MalformedRequest"],
      ["/streams/a;b", "MalformedRequest"]
    ]
    expect(
      await streamsWritten(async () => {
        for (const [target, tag] of cases) {
          for (const method of ["GET", "POST"] as const) {
            if (method === "POST" && !target.endsWith("/events")) continue
            expectRefused(await send(method, target), 400, tag, `${method} ${target}`)
          }
        }
      })
    ).toEqual([])
    for (const id of ["events", "a", "\uFFFD"]) expect(await versionOf(id), id).toBe(0)
  })

  it("a stream id holding ; or #, percent-encoded, is that stream end to end", async () => {
    const ids = ["a;b", ";", "a#b", "a;b=c?d"]
    expect(
      await streamsWritten(async () => {
        for (const id of ids) await expectStream(id, 1)
      })
    ).toEqual(ids)
    const refused = await send("GET", "/streams/a;b/events")
    expect(refused.body.message).toContain("%3B")
    for (const id of ["a", "b"]) expect(await versionOf(id), id).toBe(0)
  })

  it("one trailing slash is the same path; doubled slashes and extra segments are no stream's (404)", async () => {
    expect(
      await streamsWritten(async () => {
        const appended = await send("POST", "/streams/slash/events/")
        expect([appended.status, appended.body.streamId]).toEqual([200, "slash"])
        expect((await send("GET", "/streams/slash/")).body).toEqual({ streamId: "slash", version: 1 })
        expect((await send("GET", "/streams/slash/events/?from=1")).body.events).toHaveLength(1)
        for (
          const target of [
            "//streams/slash/events",
            "/streams/slash//events",
            "/streams/slash/events//",
            "/streams/slash/events/x",
            "/streams/slash//",
            "/streams/",
            "/streams",
            "//"
          ]
        ) {
          for (const method of ["GET", "POST"] as const) {
            expectRefused(await send(method, target), 404, "NotFound", `${method} ${target}`)
          }
        }
      })
    ).toEqual(["slash"])
  })

  it("an id of 512 characters is a stream, of 513 a JSON 400, written plainly or percent-encoded", async () => {
    const longest = ["a".repeat(512), "İ".repeat(512), "/".repeat(512), `${"é".repeat(511)}Z`]
    expect(
      await streamsWritten(async () => {
        for (const id of longest) await expectStream(id, 1)
        for (const id of longest.map((id) => `${id}x`)) {
          for (const target of [`/streams/${encodeURIComponent(id)}/events`, `/streams/${encodeURIComponent(id)}`]) {
            for (const method of ["GET", "POST"] as const) {
              if (method === "POST" && !target.endsWith("/events")) continue
              const answer = await send(method, target)
              expectRefused(answer, 400, "InvalidStreamId", `${method} <${id.length} characters>`)
              expect(answer.body.message).toContain("at most 512")
            }
          }
        }
      })
    ).toEqual(longest)
  })
})

describe("the request deadline's reading of an append's path", () => {
  // The deadline answers an append whose handler has not run (its body still arriving) with the stream's id: it reads
  // the path itself, and must read it as the service's router, whose matching is find-my-way's under the same options.
  const router = FindMyWay.make<true>(routing.routerConfig)
  router.on("POST", "/streams/:streamId/events", true)
  const routed = (url: string): string | undefined => router.find("POST", url)?.params.streamId

  const piece = FastCheck.constantFrom(
    "a",
    "Z",
    "İ",
    "%C4%B0",
    "%c4%b0",
    "%2F",
    "%2f",
    "/",
    "%25",
    "%2525",
    "%252F",
    "%",
    "%E",
    "%ED%A0%80",
    "%00",
    "%3F",
    "%23",
    ".",
    "%2E",
    "é",
    "%C3%A9",
    "?",
    ";",
    "#",
    "events",
    "%65vents"
  )
  const prefix = FastCheck.constantFrom(
    "/streams/",
    "/Streams/",
    "/STREAMS/",
    "//streams/",
    "/%73treams/",
    "/streams%2F",
    "http://127.0.0.1/streams/",
    "/streams"
  )
  const suffix = FastCheck.constantFrom(
    "/events",
    "/events/",
    "/EVENTS",
    "/%65vents",
    "/events?from=1",
    "/events;x",
    "/events#x",
    "/events/?x",
    "/events/x",
    "//events",
    "/events//",
    "%2Fevents",
    ""
  )

  it("names the stream the router routes an append to, and none where it routes none", () => {
    FastCheck.assert(
      FastCheck.property(prefix, FastCheck.array(piece, { maxLength: 6 }), suffix, (before, pieces, after) => {
        const url = before + pieces.join("") + after
        expect(deadline.appendedStream("POST", url), url).toBe(routed(url))
      }),
      { numRuns: 5_000 }
    )
    expect(routed("/streams/%C4%B0/events")).toBe("İ")
    expect(routed("/streams/a%2Fb/events/")).toBe("a/b")
    expect(deadline.appendedStream("GET", "/streams/a/events")).toBeUndefined()
  })
})
