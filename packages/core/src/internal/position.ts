import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import { NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import type * as Api from "../Position.js"

/** @internal */
export const TypeId: typeof Api.TypeId = Symbol.for("@concord/core/Position") as typeof Api.TypeId

// A class rather than `Object.create` of a prototype object: its instances hold the two fields and nothing else
// (40 bytes instead of 64 with V8's default room for four), and the memory store keeps one per event it holds.
class PositionImpl implements Api.Position {
  declare readonly commit: bigint
  declare readonly sequence: bigint
  constructor(commit: bigint, sequence: bigint) {
    this.commit = commit
    this.sequence = sequence
    Object.freeze(this)
  }
  get [TypeId](): Api.TypeId {
    return TypeId
  }
  [Equal.symbol](that: unknown): boolean {
    return isPosition(that) && that.commit === this.commit && that.sequence === this.sequence
  }
  [Hash.symbol](): number {
    // Not `Hash.cached`: it defines a property on the position, which is frozen.
    return Hash.combine(Hash.hash(this.commit))(Hash.hash(this.sequence))
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  toString(): string {
    return format(this)
  }
  toJSON() {
    return { _id: "Position", position: format(this) }
  }
  [NodeInspectSymbol]() {
    return `Position(${format(this)})`
  }
}

/** @internal */
export const isPosition = (u: unknown): u is Api.Position => typeof u === "object" && u !== null && TypeId in u

/** @internal */
export const unsafeMake = (commit: bigint, sequence: bigint): Api.Position => new PositionImpl(commit, sequence)

/** @internal */
export const format = (position: Api.Position): string =>
  position.commit === 0n ? `${position.sequence}` : `${position.commit}.${position.sequence}`

const pattern = /^(?:0|[1-9][0-9]{0,19})(?:\.(?:0|[1-9][0-9]{0,19}))?$/
const maxSegment = 2n ** 64n - 1n

/** @internal */
export const parse = (text: string): Api.Position | undefined => {
  if (!pattern.test(text)) return undefined
  const dot = text.indexOf(".")
  const commit = dot === -1 ? 0n : BigInt(text.slice(0, dot))
  const sequence = BigInt(dot === -1 ? text : text.slice(dot + 1))
  // "0.5" would be a second spelling of "5": one position, one string.
  if (dot !== -1 && commit === 0n) return undefined
  return commit > maxSegment || sequence > maxSegment ? undefined : unsafeMake(commit, sequence)
}

/** @internal */
export const compare = (self: Api.Position, that: Api.Position): -1 | 0 | 1 =>
  self.commit < that.commit
    ? -1
    : self.commit > that.commit
    ? 1
    : self.sequence < that.sequence
    ? -1
    : self.sequence > that.sequence
    ? 1
    : 0
