/**
 * The version of a stream: how many events it holds. Version 0 is the empty stream, and the n-th event of a
 * stream has version n.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category schemas
 */
export const StreamVersion = Schema.NonNegativeInt.pipe(
  Schema.brand("@concord/core/StreamVersion"),
  Schema.annotations({ identifier: "StreamVersion", description: "How many events a stream holds" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type StreamVersion = typeof StreamVersion.Type

/**
 * Builds a version, throwing when the number is not a non-negative integer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (version: number): StreamVersion => {
  // The same rule as the Schema, checked directly: `make` sits on hot paths (every expected version).
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`a stream version is a non-negative integer, not ${version}`)
  }
  return version as StreamVersion
}

/**
 * A version without the check, for counts a store derives from versions it already holds (the hot path of an
 * append): a non-negative integer by construction.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (version: number): StreamVersion => version as StreamVersion

/**
 * The largest version a stream can reach, 2,147,483,647: the SQL stores keep versions in 32-bit integer columns.
 * Reads are bounded by it, every store refuses an expected version past it with `InvalidArgument`, and the SQL stores
 * send an append whose batch would pass it the full way, where an expected version the stream has not reached is a
 * `WrongExpectedVersion` rather than a failed statement.
 *
 * @since 0.1.0
 * @category constants
 */
export const max: StreamVersion = make(2_147_483_647)

/**
 * The version of a stream with no events.
 *
 * @since 0.1.0
 * @category constants
 */
export const zero: StreamVersion = make(0)
