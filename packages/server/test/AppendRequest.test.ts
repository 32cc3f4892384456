// The direct decoding of the append requests clients send agrees with the schema's: whatever it accepts, the schema
// accepts as the same value (its keys in the same order, the same data and metadata), and it takes every request of the
// common shape; anything else (unknown keys, a version out of range, text no store keeps, metadata that is no object)
// it leaves to the schema.
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import { AppendRequest, maxEventsPerAppend } from "../src/Api.js"
import * as appendRequest from "../src/internal/appendRequest.js"

const decodeSchema = Schema.decodeUnknownEither(AppendRequest)

/** Text of every kind an id or a type may be refused for: empty, long, NUL, unpaired surrogates, emoji. */
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("", "T", "a\u0000b", "\uD800", "x\uDC00", "😀".repeat(128), "😀".repeat(129), "é".repeat(256)),
  fc.string({ minLength: 120, maxLength: 300 })
)

const anyJson = fc.jsonValue({ maxDepth: 2 })

const version = fc.oneof(
  fc.constantFrom<unknown>("any", "noStream", "other", 0, -0, -1, 1.5, 2_147_483_647, 2_147_483_648, null, "3"),
  fc.nat({ max: 10 })
)

/** Events near the schema: its keys, now and then another one, values of every kind. */
const event = fc.record({
  id: fc.oneof(text, anyJson),
  type: fc.oneof(text, anyJson),
  data: anyJson,
  metadata: fc.oneof(fc.constantFrom<unknown>({ who: "joe" }, {}, [], null, "m", 1), anyJson),
  extra: anyJson
}, { requiredKeys: [] })

const request = fc.oneof(
  fc.record({ expectedVersion: version, events: fc.array(event, { maxLength: 4 }), other: anyJson }, {
    requiredKeys: []
  }),
  anyJson
)

/** Requests of the common shape: valid, each event of its own keys only. */
const common = fc.record({
  expectedVersion: fc.oneof(fc.constantFrom<unknown>("any", "noStream"), fc.nat({ max: 2_147_483_647 })),
  events: fc.array(
    fc.record({
      id: fc.uuid(),
      type: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes("\u0000")),
      data: anyJson,
      metadata: fc.dictionary(fc.string({ maxLength: 5 }), anyJson, { maxKeys: 3 })
    }, { requiredKeys: ["type", "data"] }),
    { maxLength: 5 }
  )
})

/** The same value with its keys in the same order, all the way down to each event. */
const expectSame = (fast: typeof AppendRequest.Type, json: unknown) => {
  const slow = decodeSchema(json)
  expect(Either.isRight(slow), JSON.stringify(json)).toBe(true)
  const decoded = Either.getOrThrow(slow)
  expect(fast).toEqual(decoded)
  expect(Object.keys(fast)).toEqual(Object.keys(decoded))
  fast.events.forEach((e, i) => {
    expect(Object.keys(e)).toEqual(Object.keys(decoded.events[i]!))
    expect(e.data).toBe(decoded.events[i]!.data)
    expect(e.metadata).toBe(decoded.events[i]!.metadata)
  })
  expect(fast.expectedVersion).toEqual(decoded.expectedVersion)
}

describe("the direct decoding of append requests", () => {
  it("accepts only what the schema accepts, as the same value", () => {
    let accepted = 0
    let refused = 0
    fc.assert(
      fc.property(request, (json) => {
        const fast = appendRequest.decodeCommon(json)
        if (fast === undefined) {
          refused++
        } else {
          accepted++
          expectSame(fast, json)
        }
      }),
      { numRuns: 2_000 }
    )
    // Both sides were tried.
    expect(accepted).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  })

  it("takes every request of the common shape", () => {
    fc.assert(fc.property(common, (json) => {
      const fast = appendRequest.decodeCommon(json)
      expect(fast, JSON.stringify(json)).toBeDefined()
      expectSame(fast!, json)
    }))
  })

  it("leaves to the schema what parsing gives an own __proto__, and more events than an append may carry", () => {
    const proto = JSON.parse(`{"expectedVersion":0,"events":[{"type":"T","data":{},"__proto__":{"x":1}}]}`)
    expect(appendRequest.decodeCommon(proto)).toBeUndefined()
    const many = {
      expectedVersion: "any",
      events: Array.from({ length: maxEventsPerAppend + 1 }, () => ({ type: "T", data: 1 }))
    }
    expect(appendRequest.decodeCommon(many)).toBeUndefined()
    expect(Either.isLeft(decodeSchema(many))).toBe(true)
    const most = { ...many, events: many.events.slice(1) }
    expectSame(appendRequest.decodeCommon(most)!, most)
  })
})
