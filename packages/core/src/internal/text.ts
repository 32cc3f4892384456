import * as Schema from "effect/Schema"

// A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

// The built-in (ES2024, which the TypeScript lib in use does not declare) answers at once for the strings V8 stores
// one byte per character, which hold no surrogate: every append checks a handful of strings.
const builtInIsWellFormed = (String.prototype as { readonly isWellFormed?: () => boolean }).isWellFormed

/**
 * `String.prototype.isWellFormed`: no unpaired UTF-16 surrogate. The built-in where the platform has it, else the
 * same rule as a regex.
 *
 * @internal
 */
export const isWellFormed: (s: string) => boolean = builtInIsWellFormed === undefined
  ? (s) => !loneSurrogate.test(s)
  : (s) => builtInIsWellFormed.call(s)

/**
 * Why a string would not come back unchanged from every store, or `undefined`: PostgreSQL refuses NUL, and SQL TEXT
 * columns turn an unpaired surrogate into U+FFFD, so two distinct ids could become one.
 *
 * @internal
 */
export const textProblem = (s: string): string | undefined =>
  s.includes("\u0000")
    ? "contains a NUL character"
    : isWellFormed(s)
    ? undefined
    : "contains an unpaired UTF-16 surrogate"

/**
 * `textProblem(s) === undefined`, without building its answer.
 *
 * @internal
 */
export const isStorable = (s: string): boolean => !s.includes("\u0000") && isWellFormed(s)

/**
 * How many code points a string has: its UTF-16 units, each surrogate pair counted once. A length limit counts these,
 * as JSON Schema's `maxLength` does and PostgreSQL's `varchar(n)` would, so that 256 emoji are 256 characters.
 *
 * @internal
 */
export const codePointLength = (s: string): number => {
  let pairs = 0
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        pairs++
        i++
      }
    }
  }
  return s.length - pairs
}

/**
 * Whether a string has at most `max` code points, answered by its length alone when that is at most `max` (a string
 * never has more code points than UTF-16 units).
 *
 * @internal
 */
export const hasAtMostCodePoints = (s: string, max: number): boolean =>
  s.length <= max || (s.length <= 2 * max && codePointLength(s) <= max)

/**
 * A `Schema.filter` for strings of at most `max` characters counted as code points, stated in the JSON Schema as
 * `maxLength` (which counts code points too). `Schema.maxLength` would count UTF-16 units.
 *
 * @internal
 */
export const maxCodePoints =
  (max: number, message: string) => <S extends Schema.Schema<string, string, never>>(self: S): Schema.filter<S> =>
    self.pipe(Schema.filter((s: string) => hasAtMostCodePoints(s, max) || message, {
      title: `maxLength(${max}) in code points`,
      jsonSchema: { maxLength: max }
    }))

/**
 * A string of `min` to `max` code points (`min` at most 1, where units and code points agree) that every store keeps
 * exactly: the refinements of the id and type Schemas, as plain checks for the hot path.
 *
 * @internal
 */
export const storableOfLength = (min: 0 | 1, max: number) => (value: unknown): value is string =>
  typeof value === "string" && value.length >= min && hasAtMostCodePoints(value, max) && isStorable(value)

/**
 * Whether a string is a URL path's dot segment, `.` or `..`, which every WHATWG URL parser removes from a path (also
 * when percent-encoded as `%2e`), so that no URL addresses a stream with that id.
 *
 * @internal
 */
export const isDotSegment = (s: string): boolean => s === "." || s === ".."

const isStorableId = storableOfLength(1, 512)

/**
 * The `StreamId` Schema's rule as plain checks: `StreamId.make` and every store's check of a stream id it is given.
 *
 * @internal
 */
export const isStreamId = (value: unknown): value is string => isStorableId(value) && !isDotSegment(value)

/**
 * A `Schema.filter` predicate for strings every store must keep exactly; `what` names the value in the message.
 *
 * @internal
 */
export const storable = (what: string) => (s: string): true | string => {
  const problem = textProblem(s)
  return problem === undefined || `${what} must not contain ${problem.replace(/^contains /, "")}`
}
