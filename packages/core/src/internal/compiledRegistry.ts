import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Condition, ConflictRegistry } from "../ConflictRegistry.js"
import type { EncodedEvent } from "../Event.js"
import { all } from "./conflictRegistry.js"
import * as internalEvent from "./event.js"

const NONE = 0
const ALWAYS = 1
const CONDITIONAL = 2

const ROW_NEVER = 0
const ROW_ALL = 1
const ROW_MIXED = 2

/**
 * A condition ready to check: a predicate rule carries the domain's decoder, built once when the registry is
 * compiled rather than on every check.
 *
 * @internal
 */
export type CompiledCondition =
  | { readonly _tag: "SameKey"; readonly field: string }
  | { readonly _tag: "When"; readonly test: (proposed: EncodedEvent, committed: EncodedEvent) => boolean }

/**
 * What a proposed type may conflict with, for a store that narrows its read of the committed events: `All`, or the
 * known types it may conflict with (`types`, and `payload` when some of them only under a payload condition) and
 * the known types it never conflicts with (`ignored`). A non-empty list also conflicts with every type the registry
 * does not know; an empty one (`never`) conflicts with nothing.
 *
 * @internal
 */
export type CommittedTypes =
  | { readonly _tag: "All" }
  | {
    readonly _tag: "Listed"
    readonly types: ReadonlyArray<string>
    readonly payload: boolean
    readonly ignored: ReadonlyArray<string>
  }

/**
 * The rules compiled once into integer form: every type known to the registry gets a small index, and the last
 * index stands for every type it does not know. Checking a pair is then an array lookup.
 *
 * @internal
 */
export interface Compiled {
  readonly index: ReadonlyMap<string, number>
  readonly unknown: number
  readonly width: number
  readonly matrix: Uint8Array
  readonly rows: Uint8Array
  readonly conditions: ReadonlyMap<number, CompiledCondition>
  /** Reused between checks (detection is synchronous), so a check that finds nothing allocates nothing. */
  scratch: Int32Array
  found: Int32Array
  /** The answers of `committedTypesFor`, by proposed type. */
  readonly committedTypes: Map<string, CommittedTypes>
}

const compiledCache = new WeakMap<ConflictRegistry<any, any>, Compiled>()

const compileCondition = (
  when: Exclude<Condition, { readonly _tag: "Always" }>,
  decode: ((u: unknown) => Either.Either<unknown, unknown>) | undefined
): CompiledCondition => {
  if (when._tag === "SameKey") return when
  const predicate = when.predicate
  return {
    _tag: "When",
    test: decode === undefined
      ? (proposed, committed) => predicate(internalEvent.join(proposed), internalEvent.join(committed))
      : (proposed, committed) => {
        const p = decode(internalEvent.join(proposed))
        const c = decode(internalEvent.join(committed))
        // A payload the domain cannot decode cannot be judged: the safe answer is a conflict.
        return Either.isLeft(p) || Either.isLeft(c) || predicate(p.right, c.right)
      }
  }
}

/** @internal */
export const compile = (self: ConflictRegistry<any, any>): Compiled => {
  const cached = compiledCache.get(self)
  if (cached !== undefined) return cached
  const types = new Set<string>(self.schema === undefined ? [] : internalEvent.tags(self.schema))
  for (const [proposed, rule] of self.rules) {
    types.add(proposed)
    if (rule._tag === "Listed") { for (const committed of rule.committed.keys()) types.add(committed) }
  }
  const index = new Map(Array.from(types, (type, i) => [type, i]))
  const unknown = index.size
  const width = unknown + 1
  const matrix = new Uint8Array(width * width).fill(ALWAYS)
  const rows = new Uint8Array(width).fill(ROW_ALL)
  const conditions = new Map<number, CompiledCondition>()
  const decode = self.schema === undefined ? undefined : Schema.decodeUnknownEither(self.schema)
  for (const [proposed, rule] of self.rules) {
    if (rule._tag === "All") continue
    const row = index.get(proposed)! * width
    matrix.fill(NONE, row, row + width)
    rows[row / width] = rule.committed.size === 0 ? ROW_NEVER : ROW_MIXED
    // A committed type the registry does not know cannot be reasoned about: it conflicts with every listed rule.
    // Only `never` (the empty list) lets it pass.
    if (rule.committed.size > 0) matrix[row + unknown] = ALWAYS
    for (const [committed, when] of rule.committed) {
      const cell = row + index.get(committed)!
      matrix[cell] = when._tag === "Always" ? ALWAYS : CONDITIONAL
      if (when._tag !== "Always") conditions.set(cell, compileCondition(when, decode))
    }
  }
  const compiled: Compiled = {
    index,
    unknown,
    width,
    matrix,
    rows,
    conditions,
    scratch: new Int32Array(16),
    found: new Int32Array(16),
    committedTypes: new Map()
  }
  compiledCache.set(self, compiled)
  return compiled
}

const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return keysA.length === keysB.length &&
    keysA.every((key) => Object.hasOwn(b, key) && jsonEqual((a as any)[key], (b as any)[key]))
}

const field = (data: unknown, name: string): unknown =>
  typeof data === "object" && data !== null ? (data as Record<string, unknown>)[name] : undefined

const holds = (when: CompiledCondition, proposed: EncodedEvent, committed: EncodedEvent): boolean =>
  when._tag === "SameKey"
    ? jsonEqual(field(proposed.data, when.field), field(committed.data, when.field))
    : when.test(proposed, committed)

const lookup = (compiled: Compiled, type: string): number => compiled.index.get(type) ?? compiled.unknown

/** @internal */
export const isConflict = (
  self: ConflictRegistry<any, any>,
  proposed: EncodedEvent,
  committed: EncodedEvent
): boolean => {
  const compiled = compile(self)
  const cell = lookup(compiled, proposed.type) * compiled.width + lookup(compiled, committed.type)
  const kind = compiled.matrix[cell]
  return kind === ALWAYS || (kind === CONDITIONAL && holds(compiled.conditions.get(cell)!, proposed, committed))
}

/** @internal */
export const committedTypesFor = (self: ConflictRegistry<any, any>, proposed: string): CommittedTypes => {
  // Asked on every stale append: answered once per type and kept with the compiled registry.
  const compiled = compile(self)
  const known = compiled.committedTypes.get(proposed)
  if (known !== undefined) return known
  const row = lookup(compiled, proposed)
  let answer: CommittedTypes = all
  if (compiled.rows[row] !== ROW_ALL) {
    const types: Array<string> = []
    const ignored: Array<string> = []
    let payload = false
    for (const [type, column] of compiled.index) {
      const kind = compiled.matrix[row * compiled.width + column]
      if (kind === NONE) ignored.push(type)
      else types.push(type)
      if (kind === CONDITIONAL) payload = true
    }
    answer = { _tag: "Listed", types, payload, ignored }
  }
  compiled.committedTypes.set(proposed, answer)
  return answer
}

/**
 * Finds the clashing pairs, in proposed then committed order, and returns how many: the pairs themselves are left
 * in `compiled.found` as (proposed index, committed index), to be read before the next scan. With `firstOnly` it
 * stops at the first. Scanning reuses the compiled registry's buffers, so a scan that finds nothing allocates
 * nothing.
 *
 * @internal
 */
export const scanConflicts = (
  compiled: Compiled,
  committed: ReadonlyArray<EncodedEvent>,
  proposed: ReadonlyArray<EncodedEvent>,
  firstOnly: boolean
): number => {
  if (committed.length === 0 || proposed.length === 0) return 0
  const { matrix, rows, width } = compiled
  if (compiled.scratch.length < committed.length) {
    compiled.scratch = new Int32Array(Math.max(committed.length, compiled.scratch.length * 2))
  }
  const columns = compiled.scratch
  for (let j = 0; j < committed.length; j++) columns[j] = lookup(compiled, committed[j]!.type)
  let count = 0
  for (let i = 0; i < proposed.length; i++) {
    const proposedRow = lookup(compiled, proposed[i]!.type)
    if (rows[proposedRow] === ROW_NEVER) continue
    const row = proposedRow * width
    for (let j = 0; j < committed.length; j++) {
      const cell = row + columns[j]!
      const pair = matrix[cell]
      if (pair === NONE) continue
      if (pair === CONDITIONAL && !holds(compiled.conditions.get(cell)!, proposed[i]!, committed[j]!)) continue
      if (compiled.found.length < 2 * (count + 1)) {
        const grown = new Int32Array(Math.max(2 * (count + 1), compiled.found.length * 2))
        grown.set(compiled.found)
        compiled.found = grown
      }
      compiled.found[2 * count] = i
      compiled.found[2 * count + 1] = j
      count++
      if (firstOnly) return count
    }
  }
  return count
}
