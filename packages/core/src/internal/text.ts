// A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * `String.prototype.isWellFormed`, which the TypeScript lib in use does not declare: no unpaired UTF-16 surrogate.
 *
 * @internal
 */
export const isWellFormed = (s: string): boolean => !loneSurrogate.test(s)

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

// Any character that could be NUL or half of a surrogate pair. Most strings have none, and need no closer look.
// eslint-disable-next-line no-control-regex
const suspicious = /[\u0000\uD800-\uDFFF]/

/**
 * `textProblem(s) === undefined`, answered by one regex test for the strings that have no NUL and no surrogate at
 * all (nearly all of them).
 *
 * @internal
 */
export const isStorable = (s: string): boolean => !suspicious.test(s) || textProblem(s) === undefined

/**
 * A string of `min` to `max` UTF-16 units that every store keeps exactly: the refinements of the id and type Schemas,
 * as plain checks for the hot path.
 *
 * @internal
 */
export const storableOfLength = (min: number, max: number) => (value: unknown): value is string =>
  typeof value === "string" && value.length >= min && value.length <= max && isStorable(value)

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
