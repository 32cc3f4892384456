// The URL parameters and headers of the read endpoints, as the API declares them.
import { Event, EventStore, Position } from "@concord/core"
import { HttpApiError } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** How a value is shown in a message: JSON-quoted, and cut short. */
const shown = (text: string) => JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text)

/**
 * An integer query parameter from `min` to `max`, written as an integer is written: decimal digits only, without a
 * sign, spaces, an exponent, a fraction, hex or leading zeros (`5`, not `+5`, ` 5`, `5.0`, `5e0`, `0x5` or `05`), so
 * that one number has one spelling, the one every client's integer serializer gives. Anything else is a 400 naming
 * the parameter. The document states it as `type: integer` with its bounds.
 *
 * @internal
 */
export const integer = (name: string, min: number, max: number): Schema.Schema<number, string> =>
  Schema.transformOrFail(Schema.String, Schema.Number, {
    strict: true,
    decode: (text, _, ast) => {
      const value = /^(?:0|[1-9][0-9]{0,15})$/.test(text) ? Number(text) : Number.NaN
      return value >= min && value <= max
        ? ParseResult.succeed(value)
        : ParseResult.fail(
          new ParseResult.Type(
            ast,
            text,
            `${name} must be an integer from ${min} to ${max} in decimal digits, not ${shown(text)}`
          )
        )
    },
    encode: (value) => ParseResult.succeed(String(value))
  }).annotations({
    jsonSchema: {
      type: "integer",
      minimum: min,
      maximum: max,
      description: "Decimal digits only: no sign, spaces, exponent, fraction or leading zeros"
    }
  })

/** At most how many events a read returns: 0 to a page. @internal */
export const Limit = integer("limit", 0, EventStore.readPageSize)

/** A comma-separated list: the empty string is the empty list (which matches no event). @internal */
export const CommaSeparated: Schema.Schema<ReadonlyArray<string>, string> = Schema.transform(
  Schema.String,
  Schema.Array(Schema.String),
  {
    strict: true,
    decode: (text) => text === "" ? [] : text.split(","),
    encode: (items) => items.join(",")
  }
)

/** One category of a filter: what a stream id holds before its first `-`, so never a `-` itself. @internal */
export const Category = Schema.String.pipe(
  Schema.minLength(1, { message: () => "a category must not be empty" }),
  // Counted in code points, as a stream id's length and JSON Schema's `maxLength` are.
  Schema.filter((category) =>
    Array.from(category).length <= 512 || "a category must be at most 512 characters (Unicode code points)"
  ),
  Schema.filter((category) =>
    !category.includes("-") || "a category is the part of a stream id before its first \"-\", so holds none"
  ),
  Schema.annotations({ identifier: "Category" })
)

// The document states each list as the pattern of its text: what a comma-separated list of such items can be. What
// a pattern cannot say (no unpaired UTF-16 surrogate in a type) is in the description.
const typesDescription = "Only events of these types, comma-separated (empty: none). A type is 1 to 256 characters " +
  "(Unicode code points), with no NUL character and no unpaired UTF-16 surrogate; one holding a comma cannot be named."
const categoriesDescription = "Only events of streams in these categories (the part of a stream id before its first " +
  "-), comma-separated (empty: none). A category is 1 to 512 characters (Unicode code points), holding no - or ,."

const filter = {
  types: Schema.optional(
    Schema.compose(CommaSeparated, Schema.Array(Event.EventType)).annotations({
      description: typesDescription,
      jsonSchema: {
        type: "string",
        pattern: "^(?:[^,\\u0000]{1,256}(?:,[^,\\u0000]{1,256})*)?$",
        description: typesDescription
      }
    })
  ),
  categories: Schema.optional(
    Schema.compose(CommaSeparated, Schema.Array(Category)).annotations({
      description: categoriesDescription,
      jsonSchema: {
        type: "string",
        pattern: "^(?:[^,-]{1,512}(?:,[^,-]{1,512})*)?$",
        description: categoriesDescription
      }
    })
  )
}

/** What a filter of the global log's reads takes from the URL. @internal */
export interface FilterParams {
  readonly types?: ReadonlyArray<string> | undefined
  readonly categories?: ReadonlyArray<string> | undefined
}

/** The same, as the URL carries them. @internal */
export type FilterParamsEncoded = {
  readonly types?: string | undefined
  readonly categories?: string | undefined
}

/** `GET /events`. @internal */
export interface ReadAllParams extends FilterParams {
  readonly after?: Position.Position | undefined
  readonly limit?: number | undefined
}

/** @internal */
export type ReadAllParamsEncoded = FilterParamsEncoded & {
  readonly after?: string | undefined
  readonly limit?: string | undefined
}

/** `GET /events`. @internal */
export const ReadAll: Schema.Schema<ReadAllParams, ReadAllParamsEncoded> = Schema.Struct({
  after: Schema.optional(Position.FromString),
  limit: Schema.optional(Limit),
  ...filter
})

/** `GET /events/subscribe`. @internal */
export interface SubscribeParams extends FilterParams {
  readonly after?: Position.Position | "end" | undefined
}

/** @internal */
export type SubscribeParamsEncoded = FilterParamsEncoded & {
  readonly after?: string | undefined
}

/** `GET /events/subscribe`. @internal */
export const Subscribe: Schema.Schema<SubscribeParams, SubscribeParamsEncoded> = Schema.Struct({
  after: Schema.optional(Schema.Union(Schema.Literal("end"), Position.FromString)),
  ...filter
})

/** `GET /events/subscribe`: where a reconnecting `EventSource` was. @internal */
export interface SubscribeHeaders {
  readonly "last-event-id"?: Position.Position | undefined
}

/** @internal */
export type SubscribeHeadersEncoded = {
  readonly "last-event-id"?: string | undefined
}

/** `GET /events/subscribe`: a reconnecting `EventSource` says where it was. @internal */
export const SubscribeHeaders: Schema.Schema<SubscribeHeaders, SubscribeHeadersEncoded> = Schema.Struct({
  "last-event-id": Schema.optional(Position.FromString)
})

/** The text percent-encoded `text` stands for, as a query value (`+` a space), or `undefined` when it is not valid. */
const decodedQueryText = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "))
  } catch {
    return undefined
  }
}

/**
 * Refuses a request whose query gives one of `names` a value that is not valid percent-encoded UTF-8 (a `%` without
 * two hex digits after it, bytes no UTF-8 text has), with a 400 naming the parameter as a bad value is named. The
 * router keeps such a value as it came, undecoded, so it would otherwise be read as text the client did not send:
 * `types=a%2Cb%` would be the one type `a%2Cb%`.
 *
 * @internal
 */
export const refuseUndecodable = (
  url: string,
  names: ReadonlyArray<string>
): Effect.Effect<void, HttpApiError.HttpApiDecodeError> => {
  const question = url.indexOf("?")
  if (question === -1) return Effect.void
  for (const pair of url.slice(question + 1).split("&")) {
    const equals = pair.indexOf("=")
    if (equals === -1) continue
    const key = pair.slice(0, equals)
    const name = decodedQueryText(key) ?? key
    if (names.includes(name) && decodedQueryText(pair.slice(equals + 1)) === undefined) {
      const message = `${name} is not valid percent-encoded UTF-8`
      return Effect.fail(
        new HttpApiError.HttpApiDecodeError({ message, issues: [{ _tag: "Type", path: [name], message }] })
      )
    }
  }
  return Effect.void
}
