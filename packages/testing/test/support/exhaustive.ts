// An exhaustive, bounded oracle of harm, independent of the laws: it enumerates every state a decider reaches with a
// small, fixed list of commands and every stale scenario over those states, and judges a registry under test against
// a reference registry by what the tested one lets through and the reference does not.
//
// A scenario is a stale state S (reached by at most `depth` successful commands), a command decided on S (the
// proposed events), and the events committed behind the writer's back: those of 1..`maxBehind` commands decided in
// sequence from S. It is harmful when the command decided on the current state (S and the events behind) fails or
// gives other events, or when the events in the store's order (behind, then proposed) give another state than in the
// writer's (proposed, then behind). Apart from scenarios, a pair of the events the commands give, let through by the
// tested registry and not by the reference, is harmful when its two orders differ on some reachable state.
//
// Exploring is the expensive part (about a second for a domain of twenty commands at depth 4); judging a registry
// on an explored universe takes milliseconds, so explore once and judge every mutant.
import { ConflictRegistry, type Event } from "@concord/core"
import * as Exit from "effect/Exit"
import { type Domain, Explorer, nonEmpty } from "./explorer.js"

export type { Domain } from "./explorer.js"

interface Scenario<Command, A, State> {
  readonly stale: State
  readonly command: Command
  readonly proposed: ReadonlyArray<A>
  readonly behind: ReadonlyArray<A>
}

export type Harm<Command, A extends Event.Tagged, State, E> =
  | {
    readonly _tag: "PairDiverges"
    readonly state: State
    readonly proposed: A
    readonly committed: A
    readonly committedFirst: State
    readonly proposedFirst: State
  }
  | (
    & { readonly _tag: "DecisionChanges"; readonly current: Exit.Exit<ReadonlyArray<A>, E> }
    & Scenario<Command, A, State>
  )
  | ({ readonly _tag: "OrdersDiverge" } & Scenario<Command, A, State>)

export type Verdict<Command, A extends Event.Tagged, State, E> =
  | { readonly harmful: false; readonly scenarios: number }
  | { readonly harmful: true; readonly scenarios: number; readonly example: Harm<Command, A, State, E> }

export interface Registries<A extends Event.Tagged> {
  readonly tested: ConflictRegistry.ConflictRegistry<A, any>
  readonly reference: ConflictRegistry.ConflictRegistry<A, any>
}

/** What a stale decision let through would do wrong: undefined when nothing. */
const scenarioHarm = <Command, A extends Event.Tagged, State, E>(
  explorer: Explorer<Command, A, State, E>,
  stale: number,
  command: number,
  proposed: ReadonlyArray<number>,
  behind: Behind
): Harm<Command, A, State, E> | undefined => {
  const scenario = (): Scenario<Command, A, State> => ({
    stale: explorer.states[stale]!,
    command: explorer.domain.commands[command]!,
    proposed: explorer.eventsOf(proposed),
    behind: explorer.eventsOf(behind.events)
  })
  const now = explorer.step(behind.current, command)
  if (now._tag === "Failed") return { _tag: "DecisionChanges", ...scenario(), current: Exit.failCause(now.cause) }
  if (!explorer.same(now.events, proposed)) {
    return { _tag: "DecisionChanges", ...scenario(), current: Exit.succeed(explorer.eventsOf(now.events)) }
  }
  const storeOrder = explorer.fold(behind.current, proposed)
  const writerOrder = explorer.fold(explorer.fold(stale, proposed), behind.events)
  return storeOrder === writerOrder ? undefined : { _tag: "OrdersDiverge", ...scenario() }
}

interface Behind {
  readonly events: ReadonlyArray<number>
  readonly key: string
  readonly current: number
}

// What may be committed behind a writer's back depends on the stale state only, not on the writer's command.
const behindPaths = (
  explorer: Explorer<any, any, any, any>,
  from: number,
  left: number,
  events: ReadonlyArray<number> = [],
  into: Array<Behind> = []
): Array<Behind> => {
  explorer.domain.commands.forEach((_, k) => {
    const step = explorer.step(from, k)
    if (!nonEmpty(step)) return
    const further = [...events, ...step.events]
    into.push({ events: further, key: further.join(","), current: step.next })
    if (left > 1) behindPaths(explorer, step.next, left - 1, further, into)
  })
  return into
}

interface Group<Command, A extends Event.Tagged, State, E> {
  readonly proposed: ReadonlyArray<number>
  readonly behind: ReadonlyArray<number>
  count: number
  harm: Harm<Command, A, State, E> | undefined
}

/**
 * What `explore` found. A registry sees only the events of a scenario, so scenarios are grouped by their proposed
 * and committed events, each group with its count and the harm of one of its harmful scenarios, if any.
 */
export interface Universe<Command, A extends Event.Tagged, State, E> {
  /** Every state the commands reach within `depth + maxBehind` steps, and those the current decisions lead to. */
  readonly reachable: ReadonlyArray<State>
  readonly staleStates: number
  /** Every event the commands give on the reachable states. */
  readonly events: ReadonlyArray<A>
  readonly scenarios: number
  readonly groups: ReadonlyArray<Group<Command, A, State, E>>
  /** The harm of letting `events[proposed]` pass `events[committed]`, if their orders differ on a reachable state. */
  readonly pairHarm: (proposed: number, committed: number) => Harm<Command, A, State, E> | undefined
  /** Which ordered pairs of `events` a registry lets through, by registry. */
  readonly allowed: (registry: ConflictRegistry.ConflictRegistry<A, any>) => Uint8Array
}

const groupScenarios = <Command, A extends Event.Tagged, State, E>(
  explorer: Explorer<Command, A, State, E>,
  stale: ReadonlyArray<number>,
  maxBehind: number
) => {
  const groups = new Map<string, Group<Command, A, State, E>>()
  let scenarios = 0
  for (const s of stale) {
    const paths = behindPaths(explorer, s, maxBehind)
    explorer.domain.commands.forEach((_, k) => {
      const step = explorer.step(s, k)
      if (!nonEmpty(step)) return
      const proposedKey = step.events.join(",")
      for (const behind of paths) {
        scenarios++
        const key = `${proposedKey}|${behind.key}`
        let group = groups.get(key)
        if (group === undefined) {
          group = { proposed: step.events, behind: behind.events, count: 0, harm: undefined }
          groups.set(key, group)
        }
        group.count++
        group.harm ??= scenarioHarm(explorer, s, k, step.events, behind)
      }
    })
  }
  return { groups: Array.from(groups.values()), scenarios }
}

const pairHarms = <Command, A extends Event.Tagged, State, E>(explorer: Explorer<Command, A, State, E>) => {
  // Only the states the commands reach count: the folds of scenarios may have interned others. The two orders are
  // folded on interned states, as the scenarios are: pairs share most of the states they lead to.
  const reachable = [...explorer.reachable]
  const known = new Map<number, Harm<Command, A, State, E> | null>()
  const find = (p: number, c: number): Harm<Command, A, State, E> | null => {
    const proposed = explorer.events[p]!
    const committed = explorer.events[c]!
    const diverging = reachable.find((s) => explorer.fold(s, [c, p]) !== explorer.fold(s, [p, c]))
    return diverging === undefined ? null : {
      _tag: "PairDiverges",
      state: explorer.states[diverging]!,
      proposed,
      committed,
      committedFirst: explorer.states[explorer.fold(diverging, [c, p])]!,
      proposedFirst: explorer.states[explorer.fold(diverging, [p, c])]!
    }
  }
  return (p: number, c: number): Harm<Command, A, State, E> | undefined => {
    const key = p * explorer.events.length + c
    if (!known.has(key)) known.set(key, find(p, c))
    return known.get(key) ?? undefined
  }
}

const allowedPairs = (encoded: ReadonlyArray<Event.EncodedEvent>) => {
  const known = new WeakMap<ConflictRegistry.ConflictRegistry<any, any>, Uint8Array>()
  return (registry: ConflictRegistry.ConflictRegistry<any, any>): Uint8Array => {
    let allowed = known.get(registry)
    if (allowed === undefined) {
      const size = encoded.length
      allowed = new Uint8Array(size * size)
      for (let p = 0; p < size; p++) {
        for (let c = 0; c < size; c++) {
          allowed[p * size + c] = ConflictRegistry.isConflict(registry, encoded[p]!, encoded[c]!) ? 0 : 1
        }
      }
      known.set(registry, allowed)
    }
    return allowed
  }
}

/** Enumerates the reachable states and the scenarios over them, judging each scenario's harm once. */
export const explore = <Command, A extends Event.Tagged, State, E>(
  domain: Domain<Command, A, State, E>
): Universe<Command, A, State, E> => {
  const explorer = new Explorer(domain)
  const maxBehind = domain.maxBehind ?? 2
  explorer.reach(explorer.state(domain.decider.initialState), 0)
  // Breadth first, so that a state's level is the fewest commands that reach it.
  for (let i = 0; i < explorer.reachable.length; i++) {
    const s = explorer.reachable[i]!
    if (explorer.level[s]! >= domain.depth + maxBehind) break
    domain.commands.forEach((_, k) => explorer.step(s, k))
  }
  const stale = explorer.reachable.filter((s) => explorer.level[s]! <= domain.depth)
  const { groups, scenarios } = groupScenarios(explorer, stale, maxBehind)
  return {
    reachable: explorer.reachable.map((s) => explorer.states[s]!),
    staleStates: stale.length,
    events: explorer.events,
    scenarios,
    groups,
    pairHarm: pairHarms(explorer),
    allowed: allowedPairs(explorer.encoded)
  }
}

const letsThrough = (allowed: Uint8Array, size: number, group: Group<any, any, any, any>): boolean =>
  group.proposed.every((p) => group.behind.every((c) => allowed[p * size + c] === 1))

/**
 * The scenarios and pairs the tested registry lets through and the reference does not, and whether any of them is
 * harmful. A scenario's harm is preferred as the example (it shows the command); a pair's is given otherwise.
 */
export const judge = <Command, A extends Event.Tagged, State, E>(
  universe: Universe<Command, A, State, E>,
  registries: Registries<A>
): Verdict<Command, A, State, E> => {
  const size = universe.events.length
  const tested = universe.allowed(registries.tested)
  const reference = universe.allowed(registries.reference)
  let scenarios = 0
  let example: Harm<Command, A, State, E> | undefined
  for (const group of universe.groups) {
    if (letsThrough(tested, size, group) && !letsThrough(reference, size, group)) {
      scenarios += group.count
      example ??= group.harm
    }
  }
  for (let pair = 0; example === undefined && pair < size * size; pair++) {
    if (tested[pair] === 1 && reference[pair] === 0) example = universe.pairHarm(Math.floor(pair / size), pair % size)
  }
  return example === undefined ? { harmful: false, scenarios } : { harmful: true, scenarios, example }
}

/** `explore` then `judge`, for one registry; to judge many, explore once. */
export const check = <Command, A extends Event.Tagged, State, E>(
  domain: Domain<Command, A, State, E>,
  registries: Registries<A>
): Verdict<Command, A, State, E> => judge(explore(domain), registries)

const tags = (events: ReadonlyArray<Event.Tagged>): string => `[${events.map((event) => event._tag).join(", ")}]`

/** One line saying what goes wrong, for assertion messages. */
export const describeHarm = (harm: Harm<any, any, any, any>): string => {
  switch (harm._tag) {
    case "PairDiverges":
      return `${JSON.stringify(harm.proposed)} and ${JSON.stringify(harm.committed)} give different states in the ` +
        "two orders"
    case "DecisionChanges":
      return `${JSON.stringify(harm.command)} gives ${tags(harm.proposed)} on the stale state but ` +
        (Exit.isSuccess(harm.current) ? tags(harm.current.value) : "fails") + ` after ${tags(harm.behind)}`
    case "OrdersDiverge":
      return `${tags(harm.proposed)} after ${tags(harm.behind)} gives another state than before them`
  }
}
