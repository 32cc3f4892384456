import { ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, JSONSchema, Schema } from "effect"

describe("StreamId", () => {
  it("accepts quotes and unicode, rejects empty, NUL and over-long ids", () => {
    const valid = Schema.is(StreamId.StreamId)
    expect(valid("client-'\"; DROP TABLE-✓")).toBe(true)
    expect(valid("")).toBe(false)
    expect(valid("a\u0000")).toBe(false)
    expect(valid("x".repeat(513))).toBe(false)
  })

  it("rejects unpaired surrogates, which SQL text columns would turn into U+FFFD, with a clear message", () => {
    const valid = Schema.is(StreamId.StreamId)
    expect(valid("a\ud800")).toBe(false)
    expect(valid("a\udc00b")).toBe(false)
    expect(valid("\udc00\ud800")).toBe(false)
    expect(valid("a😀")).toBe(true)
    const error = Either.flip(Schema.decodeUnknownEither(StreamId.StreamId)("a\ud800")).pipe(Either.getOrThrow)
    expect(error.message).toContain("a stream id must not contain an unpaired UTF-16 surrogate")
    expect(() => StreamId.make("a\ud800")).toThrow("unpaired UTF-16 surrogate")
  })

  it("rejects \".\" and \"..\", which no URL can address, with a clear message; other dotted ids are valid", () => {
    for (const id of [".", ".."]) {
      const error = Either.flip(Schema.decodeUnknownEither(StreamId.StreamId)(id)).pipe(Either.getOrThrow)
      expect(error.message).toContain("a stream id must not be \".\" or \"..\": no URL can address it")
      expect(() => StreamId.make(id)).toThrow("no URL can address it")
    }
    for (const id of ["...", ". ", " .", "./", "a.", ".a", "%2e", "%2e%2e", ".%2E", "\u2024", "．"]) {
      expect(StreamId.make(id), id).toBe(id)
    }
  })

  it.prop(
    "an id is valid exactly when a URL with it percent-encoded as a path segment addresses it",
    [fc.array(fc.constantFrom(".", "%", "2", "e", "E", "/", "\\", "?", "#", " ", "\t", "a", "．"), { maxLength: 4 })],
    ([parts]) => {
      const id = parts.join("")
      const url = new URL(`http://localhost/streams/${encodeURIComponent(id)}/events`)
      const segment = /^\/streams\/([^/]*)\/events$/.exec(url.pathname)?.[1]
      const addressed = segment !== undefined && decodeURIComponent(segment) === id
      expect(Schema.is(StreamId.StreamId)(id), id).toBe(addressed && id !== "")
    }
  )

  it.prop(
    "accepts exactly the well-formed strings (as String.prototype.isWellFormed says)",
    [fc.array(fc.constantFrom(0x41, 0xe9, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00), { minLength: 1 })],
    ([codes]) => {
      const id = String.fromCharCode(...codes)
      const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed
      expect(Schema.is(StreamId.StreamId)(id)).toBe(isWellFormed.call(id))
    }
  )

  it("the category is the part before the first dash", () => {
    expect(StreamId.category(StreamId.make("client-42-a"))).toBe("client")
    expect(StreamId.category(StreamId.make("settings"))).toBe("settings")
  })
})

describe("StreamVersion", () => {
  it("is a non-negative integer", () => {
    const valid = Schema.is(StreamVersion.StreamVersion)
    expect([0, 1, 2 ** 40].every(valid)).toBe(true)
    expect([-1, 1.5, Number.NaN, Infinity].some(valid)).toBe(false)
    expect(() => StreamVersion.make(-1)).toThrow("a stream version is a non-negative integer, not -1")
  })
})

describe("ExpectedVersion", () => {
  const decode = Schema.decodeUnknownEither(ExpectedVersion.FromJson)

  it("noStream is exactly version 0", () => {
    expect(ExpectedVersion.noStream).toEqual(ExpectedVersion.exact(0))
  })

  it("reads the wire forms any, noStream and a version", () => {
    expect(decode("any")).toEqual(Either.right(ExpectedVersion.any))
    expect(decode("noStream")).toEqual(Either.right(ExpectedVersion.noStream))
    expect(decode(7)).toEqual(Either.right(ExpectedVersion.exact(7)))
    expect(Schema.encodeSync(ExpectedVersion.FromJson)(ExpectedVersion.exact(7))).toBe(7)
  })

  it.each([-1, 1.5, "7", null, "latest", 2 ** 64])("rejects %j", (input) => {
    expect(Either.isLeft(decode(input))).toBe(true)
  })

  it.each([2 ** 31, 1e20, 2 ** 53 + 2, 2 ** 64, 1e300])(
    "rejects %s, past StreamVersion.max, saying so rather than that it is not an integer",
    (n) => {
      const error = Either.flip(decode(n)).pipe(Either.getOrThrow)
      expect(error.message).toContain(
        `an expected version must be "any", "noStream" or a whole number from 0 to ${StreamVersion.max}`
      )
      expect(error.message).not.toContain("Expected an integer")
    }
  )

  it("accepts StreamVersion.max, and its JSON Schema states the bounds", () => {
    expect(decode(StreamVersion.max)).toEqual(Either.right(ExpectedVersion.exact(StreamVersion.max)))
    expect(JSON.stringify(JSONSchema.make(ExpectedVersion.FromJson))).toContain(
      `{"type":"integer","description":"an integer","title":"int","minimum":0,"maximum":${StreamVersion.max}}`
    )
  })

  it.each([-1, 1.5, Number.NaN, Infinity, 2 ** 64])(
    "exact throws a RangeError on %s, which the Schema refuses",
    (n) => {
      expect(() => ExpectedVersion.exact(n)).toThrow(RangeError)
      expect(Either.isLeft(decode(n))).toBe(true)
    }
  )
})
