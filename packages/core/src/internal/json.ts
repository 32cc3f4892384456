import { isStorable, textProblem } from "./text.js"

// Deeper than this the fast check gives up and the full one (which tracks the path and detects cycles) decides.
const maxFastDepth = 256

/**
 * Whether the full check would find nothing: the same rules, without building paths or tracking cycles (a cycle
 * exceeds the depth limit). It may refuse what the full check accepts, never the reverse.
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
      if (depth > maxFastDepth) return false
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
 * arrays, strings (with no NUL and no unpaired surrogate), finite numbers, booleans and null, with no cycles.
 *
 * @internal
 */
export const jsonProblem = (value: unknown, path: string): string | undefined =>
  // Every append checks its data: the fast check answers for valid data, the full one explains invalid data.
  isJson(value, 0) ? undefined : describe(value, path, new Set())

const describe = (value: unknown, path: string, seen: Set<object>): string | undefined => {
  switch (typeof value) {
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
    case "object": {
      if (value === null) return undefined
      if (seen.has(value)) return `${path} refers to itself`
      const proto = Object.getPrototypeOf(value)
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
        return `${path} is a ${proto?.constructor?.name ?? "non-plain"} object, not plain JSON`
      }
      seen.add(value)
      for (const [key, item] of Object.entries(value)) {
        const keyProblem = textProblem(key)
        if (keyProblem !== undefined) return `${path} has a key that ${keyProblem}`
        const problem = describe(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen)
        if (problem !== undefined) return problem
      }
      seen.delete(value)
      return undefined
    }
    default:
      return `${path} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot carry`
  }
}

/**
 * A deeply frozen copy of a value `jsonProblem` accepted, equal to what `JSON.parse(JSON.stringify(value))` gives
 * (holes and non-index keys of arrays as JSON has them, -0 as 0) without the detour through a string.
 *
 * @internal
 */
export const frozenCopy = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value === 0 ? 0 : value
  if (Array.isArray(value)) {
    const copy: Array<unknown> = new Array(value.length)
    for (let i = 0; i < value.length; i++) copy[i] = i in value ? frozenCopy(value[i]) : null
    return Object.freeze(copy)
  }
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const item = frozenCopy((value as Record<string, unknown>)[key])
    // Assigning "__proto__" would set the prototype; JSON.parse makes it an own property, and so does this.
    if (key === "__proto__") {
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true })
    } else copy[key] = item
  }
  return Object.freeze(copy)
}
