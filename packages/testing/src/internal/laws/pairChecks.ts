// The two laws on one pair of types: the case each draws, what "holds" means, and the words of a failure.
import type { Conflict, Event } from "@concord/core"
import * as Cause from "effect/Cause"
import type * as Equivalence from "effect/Equivalence"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import type { CommutationCase, DecisionCase, Domain, Exploration } from "./cases.js"
import { commutationCases, decisionCases } from "./cases.js"
import type { Budget, PairResult } from "./check.js"
import { checkPair, skip } from "./check.js"
import type { Shape } from "./domain.js"
import { tagOfValue } from "./domain.js"

/** Everything a law needs besides the pairs: the domain, how to encode and compare, and the budget. */
export interface Setup<A extends Event.Tagged, State, Command> {
  readonly domain: Domain<A, State, Command>
  readonly encode: (event: A) => Conflict.Proposed
  readonly equivalence: Equivalence.Equivalence<State>
  readonly sameEvents: (a: ReadonlyArray<A>, b: ReadonlyArray<A>) => boolean
  readonly budget: Budget
}

/** Whether the registry (or a candidate) lets one proposed event pass one committed event. */
export type LetPairThrough<A> = (proposed: A, committed: A) => boolean

/** Whether the registry (or a candidate) lets the proposed events pass every event committed since. */
export type LetThrough<A> = (proposed: ReadonlyArray<A>, behind: ReadonlyArray<A>) => boolean

const format = (value: unknown): string => JSON.stringify(Inspectable.toJSON(value)) ?? String(value)

const list = (events: ReadonlyArray<Event.Tagged>): string => events.map((event) => event._tag).join(", ")

/** The two orders of a commutation case. */
export const orders = <A, State>(domain: Domain<A, State, any>, c: CommutationCase<A, State>) => ({
  committedFirst: domain.evolve(domain.evolve(c.history.state, c.committed), c.proposed),
  proposedFirst: domain.evolve(domain.evolve(c.history.state, c.proposed), c.committed)
})

/** Checks commutation on one pair: wherever `letThrough` lets the proposed event pass, both orders agree. */
export const commutationPair = <A extends Event.Tagged, State>(
  setup: Setup<A, State, any>,
  proposed: string,
  committed: string,
  letThrough: LetPairThrough<A>
): PairResult<CommutationCase<A, State>> =>
  checkPair(
    `commutation ${proposed} ${committed}`,
    setup.domain.pool,
    commutationCases(setup.domain, proposed, committed),
    (c) => {
      if (!letThrough(c.proposed, c.committed)) return skip()
      const { committedFirst, proposedFirst } = orders(setup.domain, c)
      return setup.equivalence(committedFirst, proposedFirst)
    },
    setup.budget
  )

/** The words of a commutation failure. */
export const describeCommutation = <A extends Event.Tagged, State>(
  domain: Domain<A, State, any>,
  c: CommutationCase<A, State>
): string => {
  const { committedFirst, proposedFirst } = orders(domain, c)
  return `the registry lets ${c.proposed._tag} pass ${c.committed._tag}, but the two orders give different ` +
    `states:\n  committed ${format(c.committed)}\n  proposed ${format(c.proposed)}\n` +
    `  after [${list(c.history.events)}]\n  committed then proposed: ${format(committedFirst)}\n` +
    `  proposed then committed: ${format(proposedFirst)}` +
    (format(committedFirst) === format(proposedFirst)
      ? "\n  (the two states print the same but are not Equal: build the state from Data, or pass `equivalence`)"
      : "")
}

/** A decision case with what was decided on the stale and on the current state. */
export interface Decided<A, State, Command> extends DecisionCase<A, State, Command> {
  readonly proposed: ReadonlyArray<A>
  readonly current: Exit.Exit<ReadonlyArray<A>, unknown>
}

const decided = <A, State, Command>(
  domain: Domain<A, State, Command>,
  c: DecisionCase<A, State, Command>
): Decided<A, State, Command> | undefined => {
  const stale = domain.decide!(c.command, c.history.state)
  if (Exit.isFailure(stale) || stale.value.length === 0) return undefined
  const current = domain.decide!(c.command, c.behind.reduce(domain.evolve, c.history.state))
  return { ...c, proposed: stale.value, current }
}

/**
 * Checks decision stability on one pair: whenever the command decided on the stale state produces the proposed type,
 * the committed events include the committed type, and `letThrough` accepts, the current state decides the same.
 */
export const decisionPair = <A extends Event.Tagged, State, Command>(
  setup: Setup<A, State, Command>,
  commands: Shape<Command>,
  exploration: Exploration<A, State, Command>,
  proposed: string,
  committed: string,
  letThrough: LetThrough<A>
): PairResult<Decided<A, State, Command>> => {
  const result = checkPair(
    `decision stability ${proposed} ${committed}`,
    setup.domain.pool,
    decisionCases(setup.domain, commands, exploration, proposed, committed),
    (c) => {
      // Cheapest first: most draws are skipped, and each step costs a decision or more.
      const stale = setup.domain.decide!(c.command, c.history.state)
      if (Exit.isFailure(stale) || !stale.value.some((event) => tagOfValue(event) === proposed)) return skip()
      const behind = c.behind
      if (!behind.some((event) => tagOfValue(event) === committed) || !letThrough(stale.value, behind)) return skip()
      const current = setup.domain.decide!(c.command, behind.reduce(setup.domain.evolve, c.history.state))
      return Exit.isSuccess(current) && setup.sameEvents(current.value, stale.value)
    },
    setup.budget
  )
  return {
    cases: result.cases,
    failure: result.failure === undefined ? undefined : {
      ...result.failure,
      value: decided(setup.domain, result.failure.value)!
    }
  }
}

/**
 * The first committed event that changes the decision: deciding on the stale state with the events committed up
 * to it no longer gives the stale decision. (The last one, if no prefix does.)
 */
export const culpritIndex = <A extends Event.Tagged, State, Command>(
  setup: Setup<A, State, Command>,
  c: Decided<A, State, Command>
): number => {
  let state = c.history.state
  for (const [i, event] of c.behind.entries()) {
    state = setup.domain.evolve(state, event)
    const decision = setup.domain.decide!(c.command, state)
    if (Exit.isFailure(decision) || !setup.sameEvents(decision.value, c.proposed)) return i
  }
  return c.behind.length - 1
}

const describeFailure = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error
    ? String(error._tag) + ("message" in error && error.message !== "" ? `: ${String(error.message)}` : "")
    : String(error)

/** The words of a decision stability failure. */
export const describeDecision = <A extends Event.Tagged>(c: Decided<A, any, any>): string => {
  const current = Exit.isSuccess(c.current)
    ? `the events [${list(c.current.value)}]`
    : `the failure ${describeFailure(Cause.squash(c.current.cause))}`
  return `the registry lets [${list(c.proposed)}] pass [${list(c.behind)}], but the command ` +
    `${format(c.command)} decided on the current state gives ${current} instead of ` +
    `[${list(c.proposed)}]:\n  stale decision: ${format(c.proposed)}\n` +
    `  committed since: ${format(c.behind)}` +
    (c.behindCommands === undefined ? "" : ` (by ${c.behindCommands.map((command) => format(command)).join(", ")})`) +
    `\n  after [${list(c.history.events)}]`
}
