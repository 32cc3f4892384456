/**
 * A place in a store's global log: every committed event has one, and within one store positions are totally
 * ordered, the order in which `readAll` and `subscribe` deliver events. Callers treat a position as opaque: they keep
 * it (as a consumer's checkpoint, in a URL, as an SSE id) through its string form and hand it back to resume after it.
 *
 * A position is a pair: the commit the event belongs to and its sequence number. Stores whose commits are the log's
 * own order (memory, SQLite) number events in one sequence and leave the commit at 0, written as just the sequence
 * (`"42"`). PostgreSQL assigns sequence numbers before commit, so they become visible out of order; its commit is the
 * writing transaction's id, and the log is ordered by transaction id, then sequence (`"7731.42"`). Two positions
 * compare by commit, then sequence, whatever store made them; comparing positions of different stores means nothing.
 *
 * @since 0.2.0
 */
import type * as Equal from "effect/Equal"
import { dual } from "effect/Function"
import type { Inspectable } from "effect/Inspectable"
import * as order from "effect/Order"
import * as ParseResult from "effect/ParseResult"
import type { Pipeable } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import * as internal from "./internal/position.js"

/**
 * @since 0.2.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId as never

/**
 * @since 0.2.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category models
 */
export interface Position extends Equal.Equal, Pipeable, Inspectable {
  readonly [TypeId]: TypeId
  /** The commit the event belongs to: a transaction id on PostgreSQL, 0 where commits are the log's own order. */
  readonly commit: bigint
  /** The event's sequence number within the store. */
  readonly sequence: bigint
}

/**
 * @since 0.2.0
 * @category guards
 */
export const isPosition: (u: unknown) => u is Position = internal.isPosition

const maxPart = 2n ** 64n - 1n

const checkPart = (name: string, part: bigint): void => {
  if (typeof part !== "bigint" || part < 0n || part > maxPart) {
    throw new RangeError(`a position's ${name} is a whole number from 0 to 2^64 - 1, not ${String(part)}`)
  }
}

/**
 * Builds a position, throwing a `RangeError` when a part is not a whole number from 0 to 2^64 - 1 (what PostgreSQL's
 * transaction ids and sequences can reach). Stores build positions; callers get them from events.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: { readonly commit?: bigint | undefined; readonly sequence: bigint }): Position => {
  const commit = options.commit ?? 0n
  // SQL stores make one per row they read: checked part by part, without building anything to loop over.
  checkPart("commit", commit)
  checkPart("sequence", options.sequence)
  return internal.unsafeMake(commit, options.sequence)
}

/**
 * The position before every event: reading after it reads the whole log.
 *
 * @since 0.2.0
 * @category constants
 */
export const start: Position = internal.unsafeMake(0n, 0n)

/**
 * The order of the global log: by commit, then sequence.
 *
 * @since 0.2.0
 * @category ordering
 */
export const Order: order.Order<Position> = internal.compare

/**
 * Whether `self` comes after `that` in the global log.
 *
 * @since 0.2.0
 * @category ordering
 */
export const isAfter: {
  (that: Position): (self: Position) => boolean
  (self: Position, that: Position): boolean
} = dual(2, (self: Position, that: Position): boolean => internal.compare(self, that) > 0)

/**
 * The later of two positions.
 *
 * @since 0.2.0
 * @category ordering
 */
export const max: {
  (that: Position): (self: Position) => Position
  (self: Position, that: Position): Position
} = order.max(Order)

/**
 * The string form of a position: `"<sequence>"` when its commit is 0, `"<commit>.<sequence>"` otherwise, in
 * decimal. Every position has exactly one string form.
 *
 * @since 0.2.0
 * @category conversions
 */
export const toString: (position: Position) => string = internal.format

/**
 * Reads the string form back, or `undefined` for a string that is not one (use {@link FromString} to get the
 * reason as a `ParseError`).
 *
 * @since 0.2.0
 * @category conversions
 */
export const fromString: (text: string) => Position | undefined = internal.parse

/**
 * The Schema of a position value (the type side only, for schemas that hold one).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Position: Schema.Schema<Position> = Schema.declare(isPosition, {
  identifier: "Position",
  description: "A place in a store's global log",
  pretty: () => internal.format,
  equivalence: () => (a, b) => internal.compare(a, b) === 0
})

/**
 * A position from and to its string form: how positions travel (checkpoints, URLs, SSE ids, JSON).
 *
 * @since 0.2.0
 * @category schemas
 */
export const FromString: Schema.Schema<Position, string> = Schema.transformOrFail(Schema.String, Position, {
  strict: true,
  decode: (text, _, ast) => {
    const position = internal.parse(text)
    return position === undefined
      ? ParseResult.fail(
        new ParseResult.Type(
          ast,
          text,
          `a position is "<sequence>" or "<commit>.<sequence>" in decimal, each part from 0 to 2^64 - 1, not ${
            JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
          }`
        )
      )
      : ParseResult.succeed(position)
  },
  encode: (position) => ParseResult.succeed(internal.format(position))
}).annotations({ identifier: "PositionFromString" })
