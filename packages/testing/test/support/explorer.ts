// The exhaustive oracle's memory of a domain: every distinct state (by `Equal`) and event (by its encoding) gets an
// index, and decisions and folds are memoised on indices, so each is computed once however many scenarios share it.
import { Event } from "@concord/core"
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as MutableHashMap from "effect/MutableHashMap"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

export interface Domain<Command, A extends Event.Tagged, State, E> {
  readonly decider: {
    readonly initialState: State
    readonly evolve: (state: State, event: A) => State
    readonly decide: (command: Command, state: State) => Effect.Effect<ReadonlyArray<A>, E>
  }
  /** The events' Schema: events are told apart by their encoding, and decisions compared with its equivalence. */
  readonly schema: Event.EventSchema<A>
  /** The only commands tried, in every state. Keep the list small: the scenarios grow with its cube. */
  readonly commands: ReadonlyArray<Command>
  /** The most commands before a stale state. */
  readonly depth: number
  /** The most commands decided behind the writer's back (default 2). */
  readonly maxBehind?: number | undefined
}

export type Step<E> =
  | { readonly _tag: "Decided"; readonly events: ReadonlyArray<number>; readonly next: number }
  | { readonly _tag: "Failed"; readonly cause: Cause.Cause<E> }

export const nonEmpty = <E>(step: Step<E>): step is Extract<Step<E>, { _tag: "Decided" }> =>
  step._tag === "Decided" && step.events.length > 0

export class Explorer<Command, A extends Event.Tagged, State, E> {
  readonly states: Array<State> = []
  readonly stateIndex = MutableHashMap.empty<State, number>()
  /** The fewest commands that reach a state, for the states the commands reach (not those only a fold reaches). */
  readonly level: Array<number | undefined> = []
  readonly reachable: Array<number> = []
  readonly events: Array<A> = []
  readonly encoded: Array<Event.EncodedEvent> = []
  readonly eventIndex = new Map<string, number>()
  readonly steps: Array<Array<Step<E> | undefined>> = []
  readonly evolved: Array<Array<number | undefined>> = []
  readonly encodeEvent: (event: A) => Event.EncodedEvent
  readonly sameEvents: (a: ReadonlyArray<A>, b: ReadonlyArray<A>) => boolean

  constructor(readonly domain: Domain<Command, A, State, E>) {
    const encode = Event.encode(domain.schema)
    this.encodeEvent = (event) => Effect.runSync(encode(event))
    this.sameEvents = Schema.equivalence(Schema.Array(Schema.typeSchema(domain.schema)))
  }

  state(state: State): number {
    const found = MutableHashMap.get(this.stateIndex, state)
    if (Option.isSome(found)) return found.value
    const index = this.states.length
    this.states.push(state)
    this.level.push(undefined)
    this.steps.push([])
    this.evolved.push([])
    MutableHashMap.set(this.stateIndex, state, index)
    return index
  }

  reach(state: number, level: number): void {
    if (this.level[state] !== undefined) return
    this.level[state] = level
    this.reachable.push(state)
  }

  event(event: A): number {
    const encoded = this.encodeEvent(event)
    const key = JSON.stringify(encoded)
    const found = this.eventIndex.get(key)
    if (found !== undefined) return found
    const index = this.events.length
    this.events.push(event)
    this.encoded.push(encoded)
    this.eventIndex.set(key, index)
    return index
  }

  evolve(state: number, event: number): number {
    const known = this.evolved[state]![event]
    if (known !== undefined) return known
    const next = this.state(this.domain.decider.evolve(this.states[state]!, this.events[event]!))
    this.evolved[state]![event] = next
    return next
  }

  fold(state: number, events: ReadonlyArray<number>): number {
    return events.reduce((current, event) => this.evolve(current, event), state)
  }

  /** A command decided on a reachable state; the state after its events is reachable one command further. */
  step(state: number, command: number): Step<E> {
    const known = this.steps[state]![command]
    if (known !== undefined) return known
    const exit = Effect.runSyncExit(this.domain.decider.decide(this.domain.commands[command]!, this.states[state]!))
    let step: Step<E>
    if (Exit.isFailure(exit)) {
      step = { _tag: "Failed", cause: exit.cause }
    } else {
      const events = exit.value.map((event) => this.event(event))
      step = { _tag: "Decided", events, next: this.fold(state, events) }
      this.reach(step.next, this.level[state]! + 1)
    }
    this.steps[state]![command] = step
    return step
  }

  eventsOf(indices: ReadonlyArray<number>): ReadonlyArray<A> {
    return indices.map((index) => this.events[index]!)
  }

  same(a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean {
    return (a.length === b.length && a.every((event, i) => event === b[i])) ||
      this.sameEvents(this.eventsOf(a), this.eventsOf(b))
  }
}
