/**
 * The identity of an event stream: one aggregate, one consistency boundary.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { isDotSegment, isStreamId, maxCodePoints, storable } from "./internal/text.js"

/**
 * A non-empty string of at most 512 characters (Unicode code points, as JSON Schema's `maxLength` counts them: an emoji
 * is one) with no NUL byte (PostgreSQL cannot store one), no unpaired UTF-16
 * surrogate (SQL text columns would store U+FFFD instead, so distinct ids could collide), and neither `.` nor `..`.
 * Those two are the only ids no URL can address, so no HTTP client could reach their stream: a URL parser (WHATWG URL,
 * as `fetch` and browsers use) removes a path segment that is `.` or `..`, percent-encoded (`%2e`, `.%2E`) or not, and
 * `encodeURIComponent` leaves dots as they are. Every other id, percent-encoded with `encodeURIComponent`, reaches the
 * service as it is.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StreamId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "a stream id must not be empty" }),
  maxCodePoints(512, "a stream id must be at most 512 characters (Unicode code points)"),
  Schema.filter(storable("a stream id")),
  Schema.filter((id) => !isDotSegment(id) || "a stream id must not be \".\" or \"..\": no URL can address it"),
  Schema.brand("@concord/core/StreamId"),
  Schema.annotations({ identifier: "StreamId", description: "The identity of an event stream" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type StreamId = typeof StreamId.Type

/**
 * Builds a stream id, throwing when the string is not a valid one. Use `Schema.decodeUnknown(StreamId)` for input
 * that comes from outside the program.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (id: string): StreamId =>
  // The Schema's rule written as plain checks, because callers make an id for every append; the Schema's own `make`
  // throws its error for an invalid one.
  isStreamId(id) ? id as StreamId : StreamId.make(id)

/**
 * The category of a stream: the part of its id before the first `-` (the whole id when it has none), so
 * `client-42` belongs to `client`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const category = (id: StreamId): string => {
  const dash = id.indexOf("-")
  return dash === -1 ? id : id.slice(0, dash)
}
