import { Event } from "@concord/core"
import * as jsonNumbers from "./jsonNumbers.js"

/**
 * The arrays and objects around an event's data and metadata in an append request: the request, its `events` and the
 * event, so that `{"events":[{"data":[]}]}` nests four deep.
 */
const envelopeDepth = 3

/**
 * How deep an append request's body may nest arrays and objects: its envelope, then an event's data or metadata at
 * `Event.maxDepth`. A deeper body can only be refused, wherever its depth lies.
 *
 * @internal
 */
export const maxBodyDepth = envelopeDepth + Event.maxDepth

/**
 * What the scan of a request body refuses, or `undefined`: it nests too deep, or holds a number JavaScript cannot
 * carry exactly (with the message naming where).
 *
 * @internal
 */
export type BodyProblem =
  | { readonly _tag: "TooDeep" }
  | { readonly _tag: "InexactNumber"; readonly message: string }

const tooDeep: BodyProblem = { _tag: "TooDeep" }

/**
 * Scans JSON text before anything parses it, in one pass that keeps a count rather than a stack, so that no depth can
 * overflow anything: whether it nests arrays and objects deeper than `limit` (brackets inside strings, escaped quotes
 * included, do not count), and whether a number token in it is one JavaScript cannot carry exactly (see
 * `jsonNumbers.isExact`; short tokens are answered from their length). Text that is not JSON is left to the parser,
 * which refuses it anyway: a token that only looks like an inexact number is refused only when the text parses.
 *
 * @internal
 */
export const scan = (text: string, limit: number): BodyProblem | undefined => {
  let depth = 0
  let inString = false
  let inexactAt = -1
  let inexactEnd = -1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // a backslash: the next character is escaped, a quote or a backslash included
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return tooDeep
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      // A number token: its digits are counted on the way, so that a short one without an exponent (nearly all of
      // them) is known to be exact without being cut out and parsed.
      let end = i + 1
      let digits = c === 0x2d ? 0 : 1
      let plain = true
      for (; end < text.length; end++) {
        const d = text.charCodeAt(end)
        if (d >= 0x30 && d <= 0x39) digits++
        else if (d === 0x2e) continue
        else if (d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) plain = false
        else break
      }
      if (inexactAt === -1 && !(plain && digits <= 15) && !jsonNumbers.isExact(text.slice(i, end))) {
        inexactAt = i
        inexactEnd = end
      }
      i = end - 1
    }
  }
  if (inexactAt === -1 || !parses(text)) return undefined
  const token = text.slice(inexactAt, inexactEnd)
  return { _tag: "InexactNumber", message: jsonNumbers.inexactMessage(pathAt(text, inexactAt), token) }
}

/** Whether the text is JSON, asked only of a body about to be refused for a number. */
const parses = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** An array or object the path walk is inside of: an array's current index, or an object's current key. */
interface Frame {
  readonly isArray: boolean
  index: number
  key: string
}

const identifier = /^[A-Za-z_$][\w$]*$/

/**
 * Where in a JSON text the value starting at `offset` is, as a path into the body: `events[0].data.n`, with a key
 * that is not a short identifier quoted (`data["a b"]`, cut short when long). Walked only for a body being refused, over
 * text that parses and nests no deeper than the limit.
 */
const pathAt = (text: string, offset: number): string => {
  const frames: Array<Frame> = []
  let expectKey = false
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      const start = i
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++
      if (expectKey) {
        frames[frames.length - 1]!.key = JSON.parse(text.slice(start, i + 1)) as string
        expectKey = false
      }
    } else if (c === 0x5b || c === 0x7b) {
      frames.push({ isArray: c === 0x5b, index: 0, key: "" })
      expectKey = c === 0x7b
    } else if (c === 0x5d || c === 0x7d) {
      frames.pop()
    } else if (c === 0x2c) {
      const frame = frames[frames.length - 1]!
      if (frame.isArray) frame.index++
      else expectKey = true
    }
  }
  const path = frames.map((frame) =>
    frame.isArray
      ? `[${frame.index}]`
      : frame.key.length <= 100 && identifier.test(frame.key)
      ? `.${frame.key}`
      : `[${JSON.stringify(jsonNumbers.excerpt(frame.key))}]`
  ).join("")
  return path === "" ? "the request body" : path.replace(/^\./, "")
}

/**
 * Why a body is refused for its depth, naming the limit.
 *
 * @internal
 */
export const tooDeepMessage = `the request body nests arrays and objects more than ${maxBodyDepth} deep: an event's ` +
  `data and metadata may nest at most ${Event.maxDepth} deep (Event.maxDepth)`
