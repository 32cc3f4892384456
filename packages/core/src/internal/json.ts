import { maxDepth } from "../Event.js"
import { isStorable, textProblem } from "./text.js"

// Data may be hostile: nothing here recurses as deep as the value goes. The fast check and the copy recurse at most
// `maxDepth` levels (the check refuses a deeper value there, the copy goes on with a stack of its own), and the full
// check keeps its own stack.

/**
 * Whether the full check would find nothing: the same rules, without building paths or tracking cycles (a cycle
 * exceeds the depth limit). It may refuse what the full check accepts, never the reverse. `depth` counts the arrays and
 * objects around `value`.
 */
const isJson = (value: unknown, depth: number): boolean => {
  switch (typeof value) {
    case "boolean":
      return true
    case "string":
      return isStorable(value)
    case "number":
      return Number.isFinite(value)
    case "object": {
      if (value === null) return true
      if (depth >= maxDepth) return false
      if (!Array.isArray(value)) {
        const proto = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) return false
      }
      // for-in also visits inherited enumerable keys, which only makes this check stricter than the full one.
      for (const key in value) {
        if (!isStorable(key) || !isJson((value as Record<string, unknown>)[key], depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

/**
 * Why a value would not survive a trip through JSON unchanged, or `undefined` when it would: only plain objects,
 * arrays, strings (with no NUL and no unpaired surrogate), finite numbers, booleans and null, with no cycles, and no
 * more than `Event.maxDepth` arrays and objects inside one another.
 *
 * @internal
 */
export const jsonProblem = (value: unknown, path: string): string | undefined =>
  // Every append checks its data: the fast check answers for valid data, the full one explains invalid data.
  isJson(value, 0) ? undefined : describe(value, path)

/** An array or object the full check is inside of, and how far through its entries it is. */
interface Visit {
  readonly value: object
  readonly path: string
  readonly isArray: boolean
  readonly entries: ReadonlyArray<[string, unknown]>
  next: number
}

/**
 * The first problem in a depth-first walk of the value, entries in `Object.entries` order: the path names where it
 * is, `data.list[2].name`. An array or object more than `maxDepth` deep is named by the root's path alone, as the
 * path to it is as long as the limit.
 */
const describe = (root: unknown, rootPath: string): string | undefined => {
  const open: Array<Visit> = []
  // The arrays and objects being visited, to find one inside itself.
  const inside = new Set<object>()
  let value = root
  let path = rootPath
  for (;;) {
    if (typeof value === "object" && value !== null) {
      const problem = objectProblem(value, path, inside)
      if (problem !== undefined) return problem
      if (open.length >= maxDepth) return `${rootPath} is nested deeper than ${maxDepth} levels (Event.maxDepth)`
      inside.add(value)
      open.push({ value, path, isArray: Array.isArray(value), entries: Object.entries(value), next: 0 })
    } else {
      const problem = scalarProblem(value, path)
      if (problem !== undefined) return problem
    }
    let visit = open[open.length - 1]
    while (visit !== undefined && visit.next === visit.entries.length) {
      inside.delete(visit.value)
      open.pop()
      visit = open[open.length - 1]
    }
    if (visit === undefined) return undefined
    const [key, item] = visit.entries[visit.next++]!
    const keyProblem = textProblem(key)
    if (keyProblem !== undefined) return `${visit.path} has a key that ${keyProblem}`
    value = item
    path = visit.isArray ? `${visit.path}[${key}]` : `${visit.path}.${key}`
  }
}

/** What is wrong with an array or object itself, before its entries: it is inside itself, or not a plain one. */
const objectProblem = (value: object, path: string, inside: ReadonlySet<object>): string | undefined => {
  if (inside.has(value)) return `${path} refers to itself`
  const proto = Object.getPrototypeOf(value)
  return !Array.isArray(value) && proto !== Object.prototype && proto !== null
    ? `${path} is a ${proto?.constructor?.name ?? "non-plain"} object, not plain JSON`
    : undefined
}

/** What is wrong with a value that is not an array or object: null, a boolean, a string, a number, or another. */
const scalarProblem = (value: unknown, path: string): string | undefined => {
  switch (typeof value) {
    case "object": // null
    case "boolean":
      return undefined
    case "string": {
      // PostgreSQL's JSONB cannot hold NUL, and text columns replace lone surrogates: every store refuses both, so
      // that all behave alike.
      const problem = textProblem(value)
      return problem === undefined ? undefined : `${path} ${problem}`
    }
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot carry`
    default:
      return `${path} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot carry`
  }
}

/** An array or object being copied: its source, its copy, and how far through the source's items or keys it is. */
type Copying = CopyingArray | CopyingObject

interface CopyingArray {
  readonly source: ReadonlyArray<unknown>
  readonly copy: Array<unknown>
  readonly keys: undefined
  next: number
}

interface CopyingObject {
  readonly source: Readonly<Record<string, unknown>>
  readonly copy: Record<string, unknown>
  readonly keys: ReadonlyArray<string>
  next: number
}

/**
 * A deeply frozen copy of a value `jsonProblem` accepted, equal to what `JSON.parse(JSON.stringify(value))` gives
 * (holes and non-index keys of arrays as JSON has them, -0 as 0) without the detour through a string. Each array or
 * object is copied up to the next one inside it, which is copied before the rest; each copy is frozen once filled.
 *
 * @internal
 */
export const frozenCopy = (value: unknown): unknown => copyWithin(value, 0)

/**
 * `frozenCopy` by recursion while `depth` (the arrays and objects around `value`) is below `maxDepth`, as for any value
 * `jsonProblem` accepted: it allocates the copies and nothing else. A deeper value (possible only for one that was
 * not checked) is copied by `copyDeep`, which keeps its own stack.
 */
const copyWithin = (value: unknown, depth: number): unknown => {
  if (typeof value !== "object" || value === null) return value === 0 ? 0 : value
  if (depth >= maxDepth) return copyDeep(value)
  if (Array.isArray(value)) {
    const copy: Array<unknown> = new Array(value.length)
    for (let index = 0; index < value.length; index++) {
      copy[index] = index in value ? copyWithin(value[index], depth + 1) : null
    }
    return Object.freeze(copy)
  }
  const copy: Record<string, unknown> = {}
  // for-in and an own-property test visit the keys Object.keys gives, in its order, without an array of them.
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue
    const item = copyWithin((value as Record<string, unknown>)[key], depth + 1)
    // Assigning "__proto__" would set the prototype; JSON.parse makes it an own property, and so does this.
    if (key === "__proto__") {
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true })
    } else copy[key] = item
  }
  return Object.freeze(copy)
}

/** `frozenCopy` of an array or object without recursion, however deep it goes. */
const copyDeep = (value: object): unknown => {
  const open: Array<Copying> = []
  const root = begin(value, open)
  while (open.length > 0) {
    const copying = open[open.length - 1]!
    const descended = copying.keys === undefined ? copyItems(copying, open) : copyEntries(copying, open)
    if (!descended) {
      Object.freeze(copying.copy)
      open.pop()
    }
  }
  return root
}

/** An empty copy of an array or object, to be filled once it is on top of `open`. */
const begin = (value: object, open: Array<Copying>): object => {
  const copying: Copying = Array.isArray(value)
    ? { source: value, copy: new Array(value.length), keys: undefined, next: 0 }
    : { source: value as Record<string, unknown>, copy: {}, keys: Object.keys(value), next: 0 }
  open.push(copying)
  return copying.copy
}

/** Copies an array's items up to the next array or object (true), or to its end (false). Holes become null. */
const copyItems = (copying: CopyingArray, open: Array<Copying>): boolean => {
  const { copy, source } = copying
  for (let index = copying.next; index < source.length; index++) {
    if (!(index in source)) {
      copy[index] = null
      continue
    }
    const item = source[index]
    if (typeof item === "object" && item !== null) {
      copy[index] = begin(item, open)
      copying.next = index + 1
      return true
    }
    copy[index] = item === 0 ? 0 : item
  }
  return false
}

/** Copies an object's own enumerable entries up to the next array or object (true), or to its end (false). */
const copyEntries = (copying: CopyingObject, open: Array<Copying>): boolean => {
  const { copy, keys, source } = copying
  for (let index = copying.next; index < keys.length; index++) {
    const key = keys[index]!
    const item = source[key]
    const nested = typeof item === "object" && item !== null
    const itemCopy = nested ? begin(item, open) : item === 0 ? 0 : item
    // Assigning "__proto__" would set the prototype; JSON.parse makes it an own property, and so does this.
    if (key === "__proto__") {
      Object.defineProperty(copy, key, { value: itemCopy, enumerable: true, writable: true, configurable: true })
    } else copy[key] = itemCopy
    if (nested) {
      copying.next = index + 1
      return true
    }
  }
  return false
}
