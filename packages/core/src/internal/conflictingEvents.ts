import * as Conflict from "../Conflict.js"
import type * as Event from "../Event.js"

/** What a {@link Conflict.ConcurrencyConflict} says of the committed events of its pairs. @internal */
export interface ConflictingEvents {
  readonly committedEvents: ReadonlyArray<Conflict.ConflictingEvent>
  readonly committedEventsTruncated: boolean
}

/** The metadata of a committed event its store gave none of (a backend may leave it out). */
const noMetadata: Event.Metadata = Object.freeze({})

/**
 * The committed events named by some pair, each once, in the order the backend read them (version order), at most
 * {@link Conflict.maxCommittedEvents} of them. Only a conflicting append pays for it.
 *
 * @internal
 */
export const conflictingEvents = (
  committed: ReadonlyArray<Conflict.Committed>,
  pairs: ReadonlyArray<Conflict.ConflictingPair>
): ConflictingEvents => {
  const clashing = new Set<number>()
  for (const pair of pairs) clashing.add(pair.committedVersion)
  const committedEvents: Array<Conflict.ConflictingEvent> = []
  for (const event of committed) {
    if (!clashing.has(event.version)) continue
    if (committedEvents.length === Conflict.maxCommittedEvents) {
      return { committedEvents, committedEventsTruncated: true }
    }
    committedEvents.push({
      id: event.id,
      version: event.version,
      type: event.type,
      data: event.data,
      metadata: event.metadata ?? noMetadata
    })
  }
  return { committedEvents, committedEventsTruncated: false }
}
