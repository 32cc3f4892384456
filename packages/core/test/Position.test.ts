import { Position } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Either, Equal, FastCheck as fc, Hash, HashSet, ParseResult, Schema } from "effect"

const maxPart = 2n ** 64n - 1n

/** Parts from the whole range, with the edges and small numbers (where "0" and one digit live) likely. */
const part = fc.oneof(
  fc.bigInt({ min: 0n, max: maxPart }),
  fc.bigInt({ min: 0n, max: 12n }),
  fc.constantFrom(0n, 1n, 2n ** 32n, 2n ** 53n + 1n, maxPart - 1n, maxPart)
)
const position = fc.record({ commit: part, sequence: part }).map(Position.make)

/** The order the positions must have: by commit, then sequence. */
const lexicographic = (a: Position.Position, b: Position.Position): number =>
  a.commit !== b.commit
    ? (a.commit < b.commit ? -1 : 1)
    : a.sequence !== b.sequence
    ? (a.sequence < b.sequence ? -1 : 1)
    : 0

const decode = Schema.decodeUnknownEither(Position.FromString)
const encode = Schema.encodeSync(Position.FromString)

describe("Position", () => {
  describe("string form", () => {
    it.prop("every position survives its string form, by toString and by the Schema", [position], ([p]) => {
      const text = Position.toString(p)
      const back = Position.fromString(text)
      expect(back).toBeDefined()
      expect(back!.commit).toBe(p.commit)
      expect(back!.sequence).toBe(p.sequence)
      expect(Equal.equals(back, p)).toBe(true)
      expect(encode(p)).toBe(text)
      expect(Either.map(decode(text), (decoded) => Equal.equals(decoded, p))).toEqual(Either.right(true))
    })

    it.prop("a string that reads as a position is that position's one string form", [
      fc.oneof(fc.string(), fc.stringMatching(/^-?[0-9]{0,21}(\.[0-9]{0,21})?$/))
    ], ([text]) => {
      const read = Position.fromString(text)
      if (read !== undefined) expect(Position.toString(read)).toBe(text)
    })

    it("is the sequence alone when the commit is 0, else commit.sequence, in decimal", () => {
      expect(Position.toString(Position.start)).toBe("0")
      expect(Position.toString(Position.make({ sequence: 42n }))).toBe("42")
      expect(Position.toString(Position.make({ commit: 7731n, sequence: 42n }))).toBe("7731.42")
      expect(Position.toString(Position.make({ commit: 1n, sequence: 0n }))).toBe("1.0")
      expect(Position.toString(Position.make({ commit: maxPart, sequence: maxPart }))).toBe(
        "18446744073709551615.18446744073709551615"
      )
      expect(String(Position.make({ commit: 3n, sequence: 4n }))).toBe("3.4")
    })

    const refused = [
      "",
      "01",
      "00",
      "0.5",
      "0.0",
      "-1",
      "+1",
      "1.2.3",
      "1.",
      ".1",
      "1.01",
      " 1",
      "1 ",
      "1\n",
      "1e3",
      "0x10",
      "1_000",
      "١",
      "18446744073709551616",
      "1.18446744073709551616",
      "18446744073709551616.1",
      "99999999999999999999",
      "1".repeat(21),
      "1.2".repeat(3)
    ]

    it.each(refused)("fromString refuses %j", (text) => {
      expect(Position.fromString(text)).toBeUndefined()
    })

    it.each(refused)("the Schema refuses %j with a ParseError that quotes it", (text) => {
      const result = decode(text)
      expect(Either.isLeft(result)).toBe(true)
      const error = Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined)!
      expect(ParseResult.isParseError(error)).toBe(true)
      expect(error.message).toContain(JSON.stringify(text.slice(0, 64)))
      expect(() => Schema.decodeSync(Position.FromString)(text)).toThrow(ParseResult.ParseError)
    })

    it("the Schema's message quotes a long refused string cut short", () => {
      const result = decode("7".repeat(10_000))
      expect(Either.isLeft(result) && result.left.message).toContain(`"${"7".repeat(64)}…"`)
      expect(Either.isLeft(result) && result.left.message.length).toBeLessThan(400)
    })

    it("the Schema refuses what is not a string, and takes the edges", () => {
      for (const value of [5, 5n, null, undefined, {}, Position.start]) {
        const result = decode(value)
        expect(Either.isLeft(result) && ParseResult.isParseError(result.left)).toBe(true)
      }
      expect(Either.map(decode("18446744073709551615"), Position.toString)).toEqual(
        Either.right("18446744073709551615")
      )
      expect(Either.map(decode("0"), (p) => Equal.equals(p, Position.start))).toEqual(Either.right(true))
    })
  })

  describe("make", () => {
    it.each([
      [{ sequence: -1n }],
      [{ sequence: maxPart + 1n }],
      [{ commit: -1n, sequence: 1n }],
      [{ commit: maxPart + 1n, sequence: 1n }],
      [{ sequence: 1 as unknown as bigint }],
      [{ commit: "1" as unknown as bigint, sequence: 1n }]
    ])("refuses %o with a RangeError", (options) => {
      expect(() => Position.make(options)).toThrow(RangeError)
    })

    it("makes frozen positions with commit 0 by default", () => {
      const p = Position.make({ sequence: 9n })
      expect([p.commit, p.sequence]).toEqual([0n, 9n])
      expect(Object.isFrozen(p)).toBe(true)
      expect(Position.isPosition(p)).toBe(true)
      expect(Position.isPosition({ commit: 0n, sequence: 9n })).toBe(false)
    })
  })

  describe("order", () => {
    it.prop("orders by commit, then sequence", [position, position], ([a, b]) => {
      expect(Position.Order(a, b)).toBe(lexicographic(a, b))
      expect(Position.isAfter(a, b)).toBe(lexicographic(a, b) > 0)
      expect(Position.isAfter(b)(a)).toBe(lexicographic(a, b) > 0)
      expect(Position.max(a, b)).toBe(lexicographic(a, b) >= 0 ? a : b)
    })

    it.prop("is a total order: antisymmetric, transitive, and equal only for equal positions", [
      position,
      position,
      position
    ], ([a, b, c]) => {
      expect(Position.Order(a, b)).toBe(-Position.Order(b, a) || 0)
      expect(Position.Order(a, b) === 0).toBe(Equal.equals(a, b))
      if (Position.Order(a, b) <= 0 && Position.Order(b, c) <= 0) expect(Position.Order(a, c)).toBeLessThanOrEqual(0)
    })

    it.prop("start is before every other position", [position], ([p]) => {
      expect(Position.Order(Position.start, p)).toBe(Equal.equals(p, Position.start) ? 0 : -1)
    })

    it("a later commit comes after any sequence of an earlier one, unlike the strings' order", () => {
      const late = Position.make({ commit: 2n, sequence: 1n })
      const early = Position.make({ commit: 1n, sequence: 900n })
      expect(Position.isAfter(late, early)).toBe(true)
      expect(Position.isAfter(Position.make({ sequence: 10n }), Position.make({ sequence: 9n }))).toBe(true)
    })
  })

  describe("Equal and Hash", () => {
    it.prop("equal positions are Equal with equal hashes, whichever way they were made", [position], ([p]) => {
      const copy = Position.fromString(Position.toString(p))!
      expect(copy).not.toBe(p)
      expect(Equal.equals(p, copy)).toBe(true)
      expect(Hash.hash(p)).toBe(Hash.hash(copy))
      expect(HashSet.size(HashSet.make(p, copy))).toBe(1)
    })

    it.prop("different positions are not Equal", [position, position], ([a, b]) => {
      fc.pre(a.commit !== b.commit || a.sequence !== b.sequence)
      expect(Equal.equals(a, b)).toBe(false)
    })

    it("commit and sequence are not interchangeable, and a plain object is no position", () => {
      const p = Position.make({ commit: 1n, sequence: 2n })
      expect(Equal.equals(p, Position.make({ commit: 2n, sequence: 1n }))).toBe(false)
      expect(Equal.equals(p, { commit: 1n, sequence: 2n })).toBe(false)
      expect(Schema.is(Position.Position)(p)).toBe(true)
      expect(Schema.is(Position.Position)({ commit: 1n, sequence: 2n })).toBe(false)
      expect(Schema.equivalence(Position.Position)(p, Position.fromString("1.2")!)).toBe(true)
    })
  })
})
