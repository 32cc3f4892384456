// Requests exactly as strict as the document, against a running service over a memory store the tests also read:
// numbers JSON in JavaScript cannot carry exactly are refused, naming where they are; length limits count code points,
// as the document's maxLength does; an expected version past StreamVersion.max is refused saying so; and a decode
// error never echoes a large value back. Every refusal is a JSON 400 and writes nothing.
import { EventStore, StreamId, StreamVersion } from "@concord/core"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as bodyDepth from "../src/internal/bodyDepth.js"
import { excerpt } from "../src/internal/jsonNumbers.js"
import { baseUrl, serviceAt } from "./support/service.js"

const service = serviceAt()

interface Answer {
  readonly status: number
  readonly text: string
  readonly body: Record<string, any>
}

/** Posts raw JSON text to a stream's events. */
const post = (streamId: string, body: string) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.promise(async (): Promise<Answer> => {
      const response = await fetch(`${url}/streams/${encodeURIComponent(streamId)}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body
      })
      const text = await response.text()
      return { status: response.status, text, body: JSON.parse(text) }
    }))

/** An append request's body: expected version and events as JSON text. */
const append = (events: string, expectedVersion = "\"any\"") =>
  `{"expectedVersion":${expectedVersion},"events":${events}}`

const version = (streamId: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => store.version(StreamId.make(streamId)))

/** A JSON 400 with this tag, whose message contains each of `parts`, after which the stream is still empty. */
const expectRefused = (streamId: string, answer: Answer, tag: string, ...parts: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    expect(answer.status, answer.text).toBe(400)
    expect(answer.body._tag, answer.text).toBe(tag)
    for (const part of parts) expect(answer.body.message, answer.text).toContain(part)
    expect(yield* version(streamId)).toBe(0)
  })

/** Whether two decimal texts (JSON's or JavaScript's) denote the same value, compared exactly with BigInt. */
const sameDecimal = (a: string, b: string): boolean => {
  const parse = (text: string) => {
    const [mantissa, exponent = "0"] = text.toLowerCase().split("e")
    const [whole, fraction = ""] = mantissa!.split(".")
    return { units: BigInt(whole! + fraction), exponent: BigInt(exponent) - BigInt(fraction.length) }
  }
  const x = parse(a)
  const y = parse(b)
  if (x.units === 0n || y.units === 0n) return x.units === y.units
  const shift = x.exponent < y.exponent ? x.exponent : y.exponent
  const scaled = (p: { units: bigint; exponent: bigint }) => p.units * 10n ** (p.exponent - shift)
  // Exponents far apart cannot denote one value unless both are zero; keep the powers small enough to compute.
  if (x.exponent - y.exponent > 800n || y.exponent - x.exponent > 800n) return false
  return scaled(x) === scaled(y)
}

/** A JSON number token: a sign, 1 to 25 integer digits, maybe a fraction and an exponent reaching past doubles. */
const anyNumberToken = fc.tuple(
  fc.boolean(),
  fc.oneof(fc.constant("0"), fc.tuple(fc.integer({ min: 1, max: 9 }), fc.stringMatching(/^[0-9]{0,24}$/))),
  fc.option(fc.stringMatching(/^[0-9]{1,20}$/)),
  fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.integer({ min: 0, max: 420 })))
).map(([negative, whole, fraction, exponent]) =>
  (negative ? "-" : "") + (typeof whole === "string" ? whole : `${whole[0]}${whole[1]}`) +
  (fraction === null ? "" : `.${fraction}`) + (exponent === null ? "" : `${exponent[0]}${exponent[1]}${exponent[2]}`)
)

/** Tokens of any shape, and many near where doubles stop being exact: 15 to 20 digits, with or without a point. */
const numberToken = fc.oneof(
  anyNumberToken,
  fc.bigInt({ min: -(2n ** 66n), max: 2n ** 66n }).map(String),
  fc.stringMatching(/^-?[1-9][0-9]{13,18}$/),
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,2})\.[0-9]{11,16}$/)
)

describe("the body scan's number rule", () => {
  it("accepts a number exactly when it round-trips through a double, over many more tokens than HTTP allows", () => {
    fc.assert(
      fc.property(numberToken, (token) => {
        const roundTrips = Number.isFinite(Number(token)) && sameDecimal(token, String(Number(token)))
        const problem = bodyDepth.scan(`{"n":${token}}`, bodyDepth.maxBodyDepth)
        expect(problem === undefined, token).toBe(roundTrips)
      }),
      { numRuns: 20_000 }
    )
  })
})

describe("an excerpt of a value", () => {
  it("counts code points, as the document does, and never splits a surrogate pair", () => {
    const emoji = "😀"
    expect(excerpt(emoji.repeat(60))).toBe(emoji.repeat(60))
    expect(excerpt(emoji.repeat(100))).toBe(emoji.repeat(100))
    expect(excerpt(emoji.repeat(101))).toBe(`${emoji.repeat(100)}…(1 more characters)`)
    expect(excerpt(`${"a".repeat(99)}${emoji.repeat(3)}`)).toBe(`${"a".repeat(99)}${emoji}…(2 more characters)`)
    // A lone surrogate is a character of its own.
    expect(excerpt(`${"\uD83D".repeat(101)}`)).toBe(`${"\uD83D".repeat(100)}…(1 more characters)`)
  })
})

describe("strict requests", () => {
  layer(service)((it) => {
    it.effect("numbers JavaScript cannot carry exactly are a 400 naming where they are, and nothing is written", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [string, string, string, string]> = [
          ["{\"n\":9223372036854775807}", "", "events[0].data.n is 9223372036854775807", "9223372036854776000"],
          ["{\"n\":9007199254740993}", "", "events[0].data.n is 9007199254740993", "9007199254740992"],
          ["{\"tiny\":1e-400}", "", "events[0].data.tiny is 1e-400", "read as 0)"],
          ["{\"huge\":[1,2,1e400]}", "", "events[0].data.huge[2] is 1e400", "read as Infinity"],
          ["{\"a b\":{\"c\":0.30000000000000001}}", "", "events[0].data[\"a b\"].c is 0.30000000000000001", "0.3"],
          ["{}", ",\"metadata\":{\"trace\":-12345678901234567890}", "events[0].metadata.trace is -123456789", ""]
        ]
        for (const [data, metadata, where, readAs] of cases) {
          const streamId = `strict-numbers-${data}`
          const answer = yield* post(streamId, append(`[{"type":"T","data":${data}${metadata}}]`))
          yield* expectRefused(streamId, answer, "MalformedRequest", where, readAs, "cannot carry exactly")
        }
        // Keys that are not identifiers are quoted as JSON writes them, a long one cut short.
        const keys = "strict-numbers-keys"
        const quoted = yield* post(keys, append(`[{"type":"T","data":{"a\\"b":{"${"k".repeat(300)}":[1e400]}}}]`))
        yield* expectRefused(keys, quoted, "MalformedRequest", `events[0].data["a\\"b"]["${"k".repeat(100)}…(200 more`)
        // The second event's, after a first that is fine: the whole append is refused.
        const streamId = "strict-numbers-second"
        const second = yield* post(
          streamId,
          append("[{\"type\":\"T\",\"data\":1},{\"type\":\"T\",\"data\":[0,1e999]}]")
        )
        yield* expectRefused(streamId, second, "MalformedRequest", "events[1].data[1] is 1e999")
        // A number that long is echoed as an excerpt.
        const long = yield* post(streamId, append(`[{"type":"T","data":${"9".repeat(5000)}}]`))
        yield* expectRefused(streamId, long, "MalformedRequest", "events[0].data is 999", "(4900 more characters)")
        expect(long.text.length).toBeLessThan(1000)
      }))

    it.effect("numbers a double holds are accepted and read back as the same value; -0 is 0", () =>
      Effect.gen(function*() {
        const streamId = "strict-numbers-exact"
        const tokens = [
          "1.50",
          "1e2",
          "0.1",
          "-0",
          "-0.0e5",
          "9007199254740991",
          "1E-300",
          "5e-324",
          "1.7976931348623157e308"
        ]
        const answer = yield* post(streamId, append(`[{"type":"T","data":[${tokens.join(",")}]}]`, "\"noStream\""))
        expect(answer.status, answer.text).toBe(200)
        // Numbers inside strings, keys included, are text: nothing to refuse.
        const inStrings = yield* post(
          streamId,
          append("[{\"type\":\"T\",\"data\":{\"9223372036854775807\":\"1e400 [0.30000000000000001] \\\" 1e-400\"}}]")
        )
        expect(inStrings.status, inStrings.text).toBe(200)
        const [event] = yield* Effect.flatMap(
          baseUrl,
          (url) =>
            Effect.promise(() =>
              fetch(`${url}/streams/${streamId}/events`).then((r) => r.json() as Promise<{ events: Array<any> }>)
            )
        ).pipe(Effect.map((read) => read.events))
        expect(event.data).toEqual(tokens.map(Number).map((n) => n === 0 ? 0 : n))
        expect(Object.is(event.data[3], 0)).toBe(true)
      }))

    it.effect("text that only looks like a number in a body that is not JSON is refused as not JSON", () =>
      Effect.gen(function*() {
        const streamId = "strict-not-json"
        const answer = yield* post(streamId, append("[{\"type\":\"T\",\"data\":1.2.3e999}]"))
        yield* expectRefused(streamId, answer, "MalformedRequest", "not valid JSON")
      }))

    it.effect("an expected version past StreamVersion.max is a 400 saying so; past 2^53 it is an inexact number", () =>
      Effect.gen(function*() {
        const streamId = "strict-expected"
        const bound = `a whole number from 0 to ${StreamVersion.max} (StreamVersion.max)`
        for (const expected of ["1e20", "2147483648", "9007199254740992", "1e300"]) {
          const answer = yield* post(streamId, append("[{\"type\":\"T\",\"data\":{}}]", expected))
          yield* expectRefused(streamId, answer, "HttpApiDecodeError")
          expect(answer.body.issues.map((issue: { message: string }) => issue.message), expected).toContainEqual(
            `an expected version must be "any", "noStream" or ${bound}`
          )
          expect(answer.text).not.toContain("Expected an integer")
        }
        const unsafe = yield* post(streamId, append("[{\"type\":\"T\",\"data\":{}}]", "9007199254740993"))
        yield* expectRefused(streamId, unsafe, "MalformedRequest", "expectedVersion is 9007199254740993")
        const max = yield* post(streamId, append("[{\"type\":\"T\",\"data\":{}}]", String(StreamVersion.max)))
        expect(max.body, max.text).toMatchObject({ _tag: "WrongExpectedVersion" })
      }))

    it.effect("types, event ids and stream ids count code points: 256 emoji are a type, 257 are refused", () =>
      Effect.gen(function*() {
        const emoji = (n: number) => "😀".repeat(n)
        const streamId = emoji(300) // 300 characters, 600 UTF-16 units
        const ok = yield* post(
          streamId,
          append(JSON.stringify([{ id: emoji(128), type: emoji(256), data: {} }]), "\"noStream\"")
        )
        expect(ok.status, ok.text).toBe(200)
        expect(yield* version(streamId)).toBe(1)
        for (
          const [event, message] of [
            [{ type: emoji(257), data: {} }, "an event type must be at most 256 characters (Unicode code points)"],
            [
              { id: emoji(129), type: "T", data: {} },
              "an event id must be at most 128 characters (Unicode code points)"
            ]
          ] as const
        ) {
          const refused = yield* post(streamId, append(JSON.stringify([event])))
          expect(refused.status, refused.text).toBe(400)
          expect(refused.body._tag).toBe("HttpApiDecodeError")
          expect(refused.body.issues.map((issue: { message: string }) => issue.message)).toContain(message)
          expect(yield* version(streamId)).toBe(1)
        }
      }))

    it.effect("a decode error echoes no value past an excerpt: a 900 KB body gets a small JSON 400", () =>
      Effect.gen(function*() {
        const big = "x".repeat(900_000)
        const numbers = Array.from({ length: 100_000 }, (_, i) => i)
        const keyed = { a: { [big]: 1 } }
        // Each body, and the value its message shows as written (a string quoted): an excerpt of 100 characters of it,
        // and how many more there were, counted in the value itself; none for the type, whose refusal names the limit.
        const cases: ReadonlyArray<readonly [string, string | undefined]> = [
          [JSON.stringify(big), JSON.stringify(big)],
          [append(JSON.stringify([{ id: big, type: "T", data: {} }])), JSON.stringify(big)],
          [append(JSON.stringify([{ type: big, data: {} }])), undefined],
          [append(JSON.stringify([{ type: "T", data: {}, metadata: big }])), JSON.stringify(big)],
          [append(JSON.stringify([big])), JSON.stringify(big)],
          [append(JSON.stringify([numbers])), JSON.stringify(numbers)],
          [JSON.stringify({ expectedVersion: big, events: [] }), JSON.stringify(big)],
          // A key longer than an excerpt inside the value after `, actual `: the count is the whole value's.
          [JSON.stringify({ expectedVersion: keyed, events: [] }), JSON.stringify(keyed)]
        ]
        for (const [index, [body, shown]] of cases.entries()) {
          const streamId = `strict-echo-${index}`
          const answer = yield* post(streamId, body)
          yield* expectRefused(streamId, answer, "HttpApiDecodeError")
          expect(answer.text.length, answer.text.slice(0, 2000)).toBeLessThan(3_000)
          expect(Object.keys(answer.body).sort()).toEqual(["_tag", "issues", "message"])
          for (const issue of answer.body.issues) {
            expect(Object.keys(issue).sort()).toEqual(["_tag", "message", "path"])
            expect(issue.path).toEqual(expect.any(Array))
            expect(issue.message.length).toBeLessThan(300)
          }
          expect(answer.text).not.toContain("x".repeat(101))
          const counts = new Set(answer.text.match(/…\(\d+ more characters\)/g) ?? [])
          expect([...counts], `body ${index}`).toEqual(
            shown === undefined ? [] : [`…(${shown.length - 100} more characters)`]
          )
        }
      }))

    it.effect("a key of 60 emoji is echoed whole: 60 characters, within an excerpt's 100", () =>
      Effect.gen(function*() {
        const key = "😀".repeat(60)
        const answer = yield* post("strict-emoji-key", JSON.stringify({ expectedVersion: "any", events: [], [key]: 1 }))
        yield* expectRefused("strict-emoji-key", answer, "HttpApiDecodeError")
        expect(answer.body.issues.map((issue: { path: Array<unknown> }) => issue.path)).toEqual([[key]])
        expect(answer.text).not.toContain("more characters")
      }))

    it.effect("a query parameter's decode error is bounded too", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        for (const query of [`from=${"9".repeat(5000)}`, `limit=${"x".repeat(5000)}`]) {
          const answer = yield* Effect.promise(async () => {
            const response = await fetch(`${url}/streams/strict-query/events?${query}`)
            return { status: response.status, text: await response.text() }
          })
          expect(answer.status, answer.text).toBe(400)
          expect(JSON.parse(answer.text)._tag).toBe("HttpApiDecodeError")
          expect(answer.text.length, answer.text.slice(0, 2000)).toBeLessThan(3_000)
        }
      }))

    it.effect(
      "property: a random JSON number is accepted exactly when it round-trips through a double",
      () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const streamId = "strict-numbers-property"
          let appended = 0
          let refused = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(numberToken, async (token) => {
                const roundTrips = Number.isFinite(Number(token)) && sameDecimal(token, String(Number(token)))
                const response = await fetch(`${url}/streams/${streamId}/events`, {
                  method: "POST",
                  headers: { "content-type": "application/json" },
                  body: append(`[{"type":"T","data":{"n":${token}}}]`)
                })
                const body = await response.json() as Record<string, unknown>
                if (roundTrips) {
                  expect(response.status, `${token}: ${JSON.stringify(body)}`).toBe(200)
                  appended++
                } else {
                  expect(body, token).toMatchObject({ _tag: "MalformedRequest" })
                  expect(body.message, token).toContain("events[0].data.n is ")
                  refused++
                }
              }),
              // One token of each side always, whatever the seed (see vitest.setup.ts) draws.
              { numRuns: 300, examples: [["1.5"], ["9223372036854775807"]] }
            )
          )
          // Both sides were tried, and nothing refused was written.
          expect(appended).toBeGreaterThanOrEqual(1)
          expect(refused).toBeGreaterThanOrEqual(1)
          expect(yield* version(streamId)).toBe(appended)
        }),
      60_000
    )
  })
})
