import { Event } from "@concord/core"

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
 * Whether JSON text nests arrays and objects deeper than `limit`, found in one pass that keeps a count rather than a
 * stack, so that no depth can overflow anything. Brackets inside strings, escaped quotes included, do not count. Text
 * that is not JSON gets an answer too, which does not matter: parsing it fails anyway.
 *
 * @internal
 */
export const nestsDeeperThan = (text: string, limit: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // a backslash: the next character is escaped, a quote or a backslash included
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

/**
 * Why a body is refused for its depth, naming the limit.
 *
 * @internal
 */
export const tooDeepMessage = `the request body nests arrays and objects more than ${maxBodyDepth} deep: an event's ` +
  `data and metadata may nest at most ${Event.maxDepth} deep (Event.maxDepth)`
