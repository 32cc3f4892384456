import type { ReadBounds, ReadOptions } from "../EventStore.js"
import * as StreamVersion from "../StreamVersion.js"

const everything: ReadBounds = { from: StreamVersion.unsafeMake(1), limit: StreamVersion.max }

/**
 * A read's options as the bounds every store applies (the rules are documented on `ReadOptions`): the first version
 * between 1 and `StreamVersion.max + 1`, and a whole, finite limit that never reaches past `StreamVersion.max`.
 *
 * @internal
 */
export const readBounds = (options?: ReadOptions): ReadBounds => {
  if (options === undefined || (options.from === undefined && options.limit === undefined)) return everything
  const { from: requestedFrom, limit: requestedLimit } = options
  // `!(x > 1)` also holds for NaN: a bound that is not a number is no bound.
  const from = requestedFrom === undefined || !(requestedFrom > 1)
    ? 1
    : Math.min(Math.ceil(requestedFrom), StreamVersion.max + 1)
  const room = StreamVersion.max + 1 - from
  const limit = requestedLimit === undefined || Number.isNaN(requestedLimit)
    ? room
    : requestedLimit > 0
    ? Math.min(Math.floor(requestedLimit), room)
    : 0
  return { from: StreamVersion.unsafeMake(from), limit }
}
