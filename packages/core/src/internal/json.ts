import { textProblem } from "./text.js"

/**
 * Why a value would not survive a trip through JSON unchanged, or `undefined` when it would: only plain objects,
 * arrays, strings (with no NUL and no unpaired surrogate), finite numbers, booleans and null, with no cycles.
 *
 * @internal
 */
export const jsonProblem = (value: unknown, path: string, seen: Set<object> = new Set()): string | undefined => {
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
        const problem = jsonProblem(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen)
        if (problem !== undefined) return problem
      }
      seen.delete(value)
      return undefined
    }
    default:
      return `${path} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot carry`
  }
}
