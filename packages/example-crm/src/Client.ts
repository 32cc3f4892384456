/**
 * The state of a client record, folded from its events.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import type { CrmEvent } from "./Events.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Note {
  readonly noteId: string
  readonly author: string
  readonly text: string
}

/**
 * A client record. Structural equality (`Equal`) compares two states, which is what the commutation law needs; notes
 * are a set and contacts a map, so their order of arrival does not matter.
 *
 * @since 0.1.0
 * @category models
 */
export class Client extends Data.Class<{
  readonly status: "unregistered" | "active" | "archived"
  readonly name: string
  readonly value: number
  readonly notes: HashSet.HashSet<Note>
  readonly contacts: HashMap.HashMap<string, string>
}> {}

/**
 * The state before any event.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial: Client = new Client({
  status: "unregistered",
  name: "",
  value: 0,
  notes: HashSet.empty(),
  contacts: HashMap.empty()
})

/**
 * Applies one event to the state.
 *
 * @since 0.1.0
 * @category folding
 */
export const evolve = (state: Client, event: CrmEvent): Client => {
  switch (event._tag) {
    case "ClientRegistered":
      return new Client({ ...state, status: "active", name: event.name, value: event.value })
    case "ClientValueUpgraded":
    case "ClientValueDowngraded":
      return new Client({ ...state, value: event.value })
    case "MeetingNoteAdded":
      return new Client({
        ...state,
        notes: HashSet.add(state.notes, Data.struct({ noteId: event.noteId, author: event.author, text: event.text }))
      })
    case "ContactEmailChanged":
      return new Client({ ...state, contacts: HashMap.set(state.contacts, event.contactId, event.email) })
    case "ClientArchived":
      return new Client({ ...state, status: "archived" })
  }
}

/**
 * Folds events, oldest first, onto a state.
 *
 * @since 0.1.0
 * @category folding
 */
export const fold = (events: Iterable<CrmEvent>, state: Client = initial): Client => {
  let current = state
  for (const event of events) current = evolve(current, event)
  return current
}
