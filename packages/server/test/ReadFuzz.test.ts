// Fuzz of the read side's parameters against `concord serve` on SQLite: hostile values of after, limit, types,
// categories and Last-Event-ID get a 200 carrying exactly what an oracle built from the documented rules expects, or a
// JSON 400 naming a parameter that breaks them; never a 500, and the log never changes.
import { type Event, EventStore, Position } from "@concord/core"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { appendAny, readLog } from "./support/http.js"
import { type Running, startServer } from "./support/server.js"
import { readUntil } from "./support/sse.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-read-fuzz-"))
const maxLimit = 10_000
/** Node refuses a request whose head (the URL with it) is larger: such URLs never reach the service. */
const maxUrlLength = 14_000

let server: Running
let log: ReadonlyArray<Event.RecordedEvent>

const streams = ["alpha-1", "alpha-2", "beta-1", "gamma", "é😀-1", "a.b_c-1", "%-1", "x,y-1"]
const types = ["Opened", "Noted", "Closed", "Ünïcode😀", "with space", "a+b"]

beforeAll(async () => {
  server = await startServer(["--db", path.join(directory, "fuzz.db")])
  for (let i = 0; i < 24; i++) {
    await appendAny(server.url, streams[i % streams.length]!, [{ type: types[i % types.length]!, data: { i } }])
  }
  log = await readLog(server.url)
}, 60_000)

afterAll(async () => {
  if (server !== undefined) expect(await server.stop()).toBe(0)
  fs.rmSync(directory, { recursive: true, force: true })
})

// -----------------------------------------------------------------------------
// what to send
// -----------------------------------------------------------------------------

const maxPart = 2n ** 64n - 1n
const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(..."0123456789"), { minLength: min, maxLength: max }).map((d) => d.join(""))

/** Positions: real ones, every form of valid one, and what a position is not. */
const positionText = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("0", "1", "5", "24", "25") },
  { weight: 3, arbitrary: fc.nat().map((i) => Position.toString(log[i % log.length]!.position)) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.bigInt({ min: 0n, max: maxPart }), fc.bigInt({ min: 0n, max: maxPart }))
      .map(([commit, sequence]) => Position.toString(Position.make({ commit, sequence })))
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "-1",
      "-0",
      "1.2.3",
      "01",
      "1.",
      ".1",
      "0.5",
      "0.0",
      "1.01",
      "18446744073709551615",
      "18446744073709551616",
      "18446744073709551615.18446744073709551615",
      "18446744073709551616.1",
      " 1",
      "1 ",
      "+1",
      "1e3",
      "0x10",
      "١٢",
      "１",
      "end",
      "End",
      "NaN",
      "Infinity",
      "",
      "\u0000",
      "1\u0000"
    )
  },
  { weight: 1, arbitrary: digits(19, 400) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.fullUnicodeString({ maxLength: 30 }) }
)

/** Limits: every valid one, the bounds, and numbers and strings around them. */
const limitText = fc.oneof(
  fc.integer({ min: 0, max: maxLimit }).map(String),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.constantFrom(
    "10000",
    "10001",
    "-1",
    "-0",
    "1.5",
    "1.0",
    "1e3",
    "1e999",
    "0x10",
    " 5",
    "5 ",
    "",
    "NaN",
    "Infinity",
    "-Infinity",
    "9007199254740993",
    "１"
  ),
  digits(6, 400),
  fc.double().map(String),
  fc.string({ maxLength: 12 })
)

/** One item of a list: names the log has, and names no item can be. */
const listItem = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...types, ...streams.map((id) => id.split("-", 1)[0]!)) },
  { weight: 1, arbitrary: fc.constantFrom("", "-", "a-b", "alpha-", "\u0000", "a\u0000", " ", "%", ",") },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.fullUnicodeString({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.integer({ min: 255, max: 258 }).map((n) => "t".repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 511, max: 514 }).map((n) => "c".repeat(n)) }
)

const listText = fc.oneof(
  { weight: 6, arbitrary: fc.array(listItem, { minLength: 1, maxLength: 4 }).map((items) => items.join(",")) },
  // Very long lists, of fine items or with one bad one.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 200, max: 2_500 }), fc.option(listItem), fc.nat()).map(
      ([length, odd, at]) => {
        const items = Array.from({ length }, (_, i) => `i${i}`)
        if (odd !== null) items[at % length] = odd
        return items.join(",")
      }
    )
  },
  { weight: 1, arbitrary: fc.constantFrom("", ",", "a,", ",a", "a,,b", "Opened,Opened", "alpha,alpha") }
)

/** Raw text slipped into an encoded value: percent-encodings, broken ones, and characters the query gives meaning. */
/** `null` but one time in `every`. */
const sometimes = <A>(arbitrary: fc.Arbitrary<A>, every = 4) =>
  fc.oneof({ weight: every - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary })

const rawToken = fc.constantFrom("%", "%ZZ", "%E0%A4%A", "%ED%A0%80", "%FF", "%C0%80", "+", "%2C", "%00", "%25", "%2")

/** A value as it goes into the URL: percent-encoded, now and then with raw text inserted. */
const encoded = (value: fc.Arbitrary<string>) =>
  fc.tuple(value, sometimes(fc.tuple(rawToken, fc.nat()), 8)).map(([text, raw]) => {
    const plain = encodeURIComponent(text)
    if (raw === null) return plain
    // Between two encoded characters, not inside one's escape.
    const cuts = [0, ...[...plain.matchAll(/%[0-9A-F]{2}|./g)].map((m) => m.index! + m[0].length)]
    const at = cuts[raw[1] % cuts.length]!
    return plain.slice(0, at) + raw[0] + plain.slice(at)
  })

const junk = fc.constantFrom(
  "__proto__=1",
  "constructor=x",
  "hasOwnProperty=",
  "after%5B%5D=1",
  "x=1",
  "Limit=5",
  "TYPES=a"
)

/** A query: each parameter absent, once, or twice; now and then a parameter the service does not know. */
const query = (parameters: ReadonlyArray<readonly [string, fc.Arbitrary<string>]>) =>
  fc.tuple(
    fc.tuple(...parameters.map(([name, value]) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.constant([] as Array<string>) },
        { weight: 6, arbitrary: encoded(value).map((v) => [`${name}=${v}`]) },
        {
          weight: 1,
          arbitrary: fc.tuple(encoded(value), encoded(value)).map(([a, b]) => [`${name}=${a}`, `${name}=${b}`])
        },
        { weight: 1, arbitrary: fc.constant([name]) }
      )
    )),
    sometimes(junk)
  ).chain(([parts, extra]) =>
    fc.shuffledSubarray([...parts.flat(), ...(extra === null ? [] : [extra])], { minLength: parts.flat().length })
  ).map((parts) => parts.join("&"))

/** What a header value can hold: tabs and Latin-1 text without control characters (fetch refuses the rest). */
const headerCharacters = /^[\t\x20-\x7e\x80-\xff]*$/

/** A Last-Event-ID value a header can carry. */
const headerText = fc.oneof(
  positionText.filter((text) => headerCharacters.test(text)),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 30 })
    .filter((text) => headerCharacters.test(text)),
  fc.constantFrom("\t7", "7 ", "  ", "")
)

// -----------------------------------------------------------------------------
// the oracle: what the documented rules say of a URL
// -----------------------------------------------------------------------------

type Verdict =
  | { readonly _tag: "Valid"; readonly expected: ReadonlyArray<Event.RecordedEvent> }
  | { readonly _tag: "Invalid"; readonly parameters: ReadonlySet<string> }

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const isStorable = (text: string) => !text.includes("\u0000") && !loneSurrogate.test(text)

/** What a query value stands for, or `undefined` when it is not valid percent-encoded UTF-8. */
const decodedQueryText = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "))
  } catch {
    return undefined
  }
}

/** A list of the URL: the empty string is no item; otherwise each item between commas must be valid. */
const listOf = (text: string, valid: (item: string) => boolean) => {
  const items = text === "" ? [] : text.split(",")
  return items.every(valid) ? items : undefined
}

/**
 * The verdict on a read: `after` a position (or `end`, for a subscription), `limit` a whole number from 0 to 10,000 in
 * decimal digits only (no sign, spaces, exponent, hex or leading zeros: `1e3`, `0x10` and `05` are refused), `types` event types (1 to 256 characters,
 * no NUL), `categories` the part of a stream id before its first `-` (1 to 512 characters, none a `-`); each at most
 * once, and given as valid percent-encoded UTF-8; Last-Event-ID a position, which wins over `after`. Unknown
 * parameters are ignored.
 */
const oracle = (
  endpoint: "/events" | "/events/subscribe",
  search: string,
  lastEventId?: string
): Verdict => {
  const params = new URLSearchParams(search)
  const invalid = new Set<string>()
  for (const pair of search.split("&")) {
    const equals = pair.indexOf("=")
    if (equals !== -1 && decodedQueryText(pair.slice(equals + 1)) === undefined) {
      invalid.add(decodedQueryText(pair.slice(0, equals)) ?? pair.slice(0, equals))
    }
  }
  const single = (name: string) => {
    const values = params.getAll(name)
    if (values.length > 1) invalid.add(name)
    return values.length === 1 ? values[0] : undefined
  }
  const afterText = single("after")
  const after = afterText === undefined
    ? undefined
    : endpoint === "/events/subscribe" && afterText === "end"
    ? "end" as const
    : Position.fromString(afterText)
  if (afterText !== undefined && after === undefined) invalid.add("after")
  let limit: number | undefined
  if (endpoint === "/events") {
    const limitText = single("limit")
    if (limitText !== undefined) {
      limit = /^(?:0|[1-9][0-9]*)$/.test(limitText) ? Number(limitText) : Number.NaN
      if (!Number.isInteger(limit) || limit < 0 || limit > maxLimit) invalid.add("limit")
    }
  }
  const typesText = single("types")
  const typeList = typesText === undefined
    ? undefined
    : listOf(typesText, (item) => item.length >= 1 && item.length <= 256 && isStorable(item))
  if (typesText !== undefined && typeList === undefined) invalid.add("types")
  const categoriesText = single("categories")
  const categoryList = categoriesText === undefined
    ? undefined
    : listOf(categoriesText, (item) => item.length >= 1 && item.length <= 512 && !item.includes("-"))
  if (categoriesText !== undefined && categoryList === undefined) invalid.add("categories")
  const header = lastEventId?.replace(/^[\t ]+|[\t ]+$/g, "")
  const resumeAt = header === undefined ? undefined : Position.fromString(header)
  if (header !== undefined && resumeAt === undefined) invalid.add("last-event-id")
  if (invalid.size > 0) return { _tag: "Invalid", parameters: invalid }
  const from = resumeAt ?? after
  const filter = { types: typeList, categories: categoryList }
  const matching = from === "end"
    ? []
    : log.filter((e) => (from === undefined || Position.isAfter(e.position, from)) && EventStore.matches(e, filter))
  return { _tag: "Valid", expected: matching.slice(0, limit ?? maxLimit) }
}

// -----------------------------------------------------------------------------
// the properties
// -----------------------------------------------------------------------------

/** A GET whose transport failure says why (fetch's own error says only "fetch failed"). */
const get = async (url: string, headers: Record<string, string> = {}) => {
  try {
    const response = await fetch(url, { headers })
    return { status: response.status, text: await response.text() }
  } catch (error) {
    throw new Error(`GET ${url.slice(0, 300)} ${JSON.stringify(headers)}: ${String((error as Error).cause ?? error)}`)
  }
}

/** A 400 is JSON naming, as the first issue's path, one of the parameters the oracle found wrong. */
const expectRefusal = (status: number, text: string, verdict: Verdict & { _tag: "Invalid" }, what: string) => {
  expect(status, `${what}: ${text}`).toBe(400)
  const body = JSON.parse(text)
  expect(body._tag, what).toBe("HttpApiDecodeError")
  expect([...verdict.parameters], `${what}: ${text}`).toContain(body.issues[0].path[0])
  expect(body.message, what).toEqual(expect.any(String))
}

/** Both answers came often: the generators reach valid values as well as bad ones. */
const expectBothKinds = (counts: { readonly valid: number; readonly invalid: number }) => {
  expect(counts.valid, JSON.stringify(counts)).toBeGreaterThan(40)
  expect(counts.invalid, JSON.stringify(counts)).toBeGreaterThan(40)
}

describe("the read side's parameters, fuzzed", () => {
  it("GET /events: 200 with what the oracle expects, or a JSON 400 naming a bad parameter", async () => {
    const counts = { valid: 0, invalid: 0 }
    const search = query([["after", positionText], ["limit", limitText], ["types", listText], [
      "categories",
      listText
    ]]).filter((q) => q.length < maxUrlLength)
    await fc.assert(
      fc.asyncProperty(search, async (q) => {
        const verdict = oracle("/events", q)
        const { status, text } = await get(`${server.url}/events?${q}`)
        const what = `GET /events?${q.slice(0, 300)}`
        if (verdict._tag === "Invalid") {
          counts.invalid++
          return expectRefusal(status, text, verdict, what)
        }
        counts.valid++
        expect(status, `${what}: ${text.slice(0, 500)}`).toBe(200)
        expect(JSON.parse(text).events.map((e: any) => e.position), what).toEqual(
          verdict.expected.map((e) => Position.toString(e.position))
        )
      }),
      { numRuns: 400 }
    )
    expectBothKinds(counts)
  }, 60_000)

  it("GET /events/subscribe: the events the oracle expects, or a JSON 400 naming a bad parameter", async () => {
    const counts = { valid: 0, invalid: 0 }
    const search = query([["after", positionText], ["types", listText], ["categories", listText]])
      .filter((q) => q.length < maxUrlLength)
    await fc.assert(
      fc.asyncProperty(search, sometimes(headerText), async (q, header) => {
        const verdict = oracle("/events/subscribe", q, header ?? undefined)
        const url = `${server.url}/events/subscribe?${q}`
        const headers: Record<string, string> = header === null ? {} : { "last-event-id": header }
        const what = `GET /events/subscribe?${q.slice(0, 300)} Last-Event-ID: ${JSON.stringify(header)}`
        if (verdict._tag === "Invalid") {
          counts.invalid++
          const response = await get(url, headers)
          return expectRefusal(response.status, response.text, verdict, what)
        }
        counts.valid++
        // The catch-up comes at once: every matching event of the log after the start, then nothing (the log is
        // not written to); reading stops after the opening comment and as many events as expected.
        const read = await readUntil(
          url,
          (messages) =>
            messages.length > 0 && messages.filter((m) => m.data !== undefined).length >= verdict.expected.length,
          headers,
          5_000
        )
        expect(read.status, what).toBe(200)
        expect(read.contentType, what).toMatch(/^text\/event-stream/)
        expect(read.messages.filter((m) => m.data !== undefined).map((m) => m.id), what).toEqual(
          verdict.expected.map((e) => Position.toString(e.position))
        )
      }),
      { numRuns: 250 }
    )
    expectBothKinds(counts)
  }, 60_000)

  it("a URL too long for Node is refused by it, not the service, and the log is unchanged", async () => {
    const tooLong = await fetch(`${server.url}/events?types=${"t,".repeat(20_000)}t`)
    expect(tooLong.status).toBe(431)
    expect(await readLog(server.url)).toEqual(log)
  })
})
