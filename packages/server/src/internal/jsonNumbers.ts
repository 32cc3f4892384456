/**
 * A decimal value as its digits and a scale: `digits × 10^scale`, the digits without leading or trailing zeros (none
 * at all for zero, whatever its sign).
 */
interface Decimal {
  readonly negative: boolean
  readonly digits: string
  readonly scale: number
}

/** The decimal value a number's text denotes, JSON's `-12.50e3` as well as JavaScript's `1.5e+21`. */
const decimalOf = (text: string): Decimal => {
  const negative = text.charCodeAt(0) === 0x2d // "-"
  const exponentAt = text.search(/[eE]/)
  const mantissa = text.slice(negative ? 1 : 0, exponentAt === -1 ? text.length : exponentAt)
  const exponent = exponentAt === -1 ? 0 : Number(text.slice(exponentAt + 1))
  const dot = mantissa.indexOf(".")
  const fraction = dot === -1 ? "" : mantissa.slice(dot + 1)
  const all = dot === -1 ? mantissa : mantissa.slice(0, dot) + fraction
  let first = 0
  while (first < all.length && all.charCodeAt(first) === 0x30) first++
  let end = all.length
  while (end > first && all.charCodeAt(end - 1) === 0x30) end--
  return { negative, digits: all.slice(first, end), scale: exponent - fraction.length + (all.length - end) }
}

const sameValue = (a: Decimal, b: Decimal): boolean =>
  a.digits === b.digits && (a.digits === "" || (a.negative === b.negative && a.scale === b.scale))

/**
 * Whether a JSON number's text denotes exactly the value JavaScript reads it as: the double it parses to, written back
 * as `JSON.stringify` writes it, denotes the same decimal value. `1.50`, `1e2`, `0.1` and `-0` (zero, stored as `0`)
 * are exact; `9007199254740993`, `9223372036854775807`, `0.30000000000000001`, `1e400` (Infinity) and `1e-400` (0) are
 * not. Every text of at most 15 digits without an exponent is exact (at most 15 significant digits, well within the
 * range of doubles), and is answered without parsing it; so is, after parsing, one written as JavaScript writes it.
 *
 * @internal
 */
export const isExact = (text: string): boolean => {
  if (text.length <= 15 && !/[eE]/.test(text)) return true
  const value = Number(text)
  if (!Number.isFinite(value)) return false
  // JSON written by JavaScript (and most languages' shortest round-trip formatting) is exactly this text.
  const written = String(value)
  return written === text || sameValue(decimalOf(text), decimalOf(written))
}

const isPairAt = (text: string, at: number): boolean => {
  const high = text.charCodeAt(at)
  const low = text.charCodeAt(at + 1)
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff
}

/**
 * The first `max` characters of a text, and how many more there were, so that no message echoes a value unboundedly.
 * Characters are code points, as the document counts them: a surrogate pair is one, never cut in two.
 *
 * @internal
 */
export const excerpt = (text: string, max = 100): string => {
  if (text.length <= max) return text
  let end = 0
  for (let kept = 0; kept < max && end < text.length; kept++) end += isPairAt(text, end) ? 2 : 1
  if (end >= text.length) return text
  let more = 0
  for (let at = end; at < text.length; at += isPairAt(text, at) ? 2 : 1) more++
  return `${text.slice(0, end)}…(${more} more characters)`
}

/**
 * Why a number in a request body is refused: where it is, what it is, and what JavaScript would have made of it.
 *
 * @internal
 */
export const inexactMessage = (where: string, text: string): string =>
  `${where} is ${excerpt(text)}, a number JSON in JavaScript cannot carry exactly (it would be read as ` +
  `${String(Number(text))}): send numbers a double holds exactly (up to 15 significant digits always are), and ` +
  `others as strings`
