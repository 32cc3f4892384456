/**
 * A decider: a domain's state, how events change it, and how a command turns into events.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { Tagged } from "./Event.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Decider<in Command, Event extends Tagged, State, out E = never, out R = never> {
  readonly initialState: State
  readonly evolve: (state: State, event: Event) => State
  /** The events a command produces on a state, or a domain error. */
  readonly decide: (command: Command, state: State) => Effect.Effect<ReadonlyArray<Event>, E, R>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = <Command, Event extends Tagged, State, E = never, R = never>(
  decider: Decider<Command, Event, State, E, R>
): Decider<Command, Event, State, E, R> => decider

/**
 * Folds events, oldest first, onto a state.
 *
 * @since 0.1.0
 * @category folding
 */
export const fold = <Event extends Tagged, State>(
  decider: Pick<Decider<never, Event, State, unknown, unknown>, "evolve">,
  state: State,
  events: Iterable<Event>
): State => {
  let current = state
  for (const event of events) current = decider.evolve(current, event)
  return current
}
