// The two laws over every pair a registry lets through, each pair on its own share of the budget.
import type { Event } from "@concord/core"
import { Conflict, ConflictRegistry } from "@concord/core"
import type * as Api from "../../Laws.js"
import { explore } from "./cases.js"
import type { CommutationCase } from "./cases.js"
import type { PairResult } from "./check.js"
import { tagOfValue } from "./domain.js"
import type { Decided, LetPairThrough, LetThrough, Setup } from "./pairChecks.js"
import { commutationPair, culpritIndex, decisionPair, describeCommutation, describeDecision } from "./pairChecks.js"
import type { AllowedPair } from "./pairs.js"
import { allowedPairs, describeRule, passageOf } from "./pairs.js"
import { makeReport } from "./report.js"
import type { SetupOptions } from "./setup.js"
import { makeSetup, tagsOf } from "./setup.js"

/** What a run takes: the setup's options, the registry, and the pairs to check when not all. */
export type RunOptions<A extends Event.Tagged, State, Command> = SetupOptions<A, State, Command> & {
  readonly registry: ConflictRegistry.ConflictRegistry<A, any>
  readonly pairs?: ReadonlyArray<readonly [string, string]> | undefined
}

/** A failing pair, before it becomes the API's `LawViolation`. */
export interface Failure {
  readonly law: string
  readonly description: string
  readonly counterexample: unknown
  readonly seed: number
  readonly path: string
  readonly pair: { readonly proposed: string; readonly committed: string }
  readonly rule: string
}

/** What a run found: a failure, or the coverage of every pair. */
export type Outcome = { readonly _tag: "Failed"; readonly failure: Failure } | {
  readonly _tag: "Held"
  readonly report: Api.Report
}

/** The registry's answer for a single pair, as the commutation checks ask it. */
export const registryLetsPairThrough = <A extends Event.Tagged>(
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  encode: (event: A) => Conflict.Proposed
): LetPairThrough<A> =>
(proposed, committed) => !ConflictRegistry.isConflict(registry, encode(proposed), encode(committed))

const committedAt = (encoded: ReadonlyArray<Conflict.Proposed>): ReadonlyArray<Conflict.Committed> =>
  encoded.map((event, i) => ({ ...event, id: `committed-${i + 1}` as any, version: (i + 1) as any }))

/** The registry's answer for a decision, as the decision checks ask it. */
export const registryLetsThrough = <A extends Event.Tagged>(
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  encode: (event: A) => Conflict.Proposed
): LetThrough<A> =>
(proposed, behind) => !Conflict.hasConflict(registry, committedAt(behind.map(encode)), proposed.map(encode))

/** A pair's failure, in the words and values a `LawViolation` carries. */
export const failureOf = <T>(
  law: string,
  setup: Setup<any, any, any>,
  pair: AllowedPair,
  failure: NonNullable<PairResult<T>["failure"]>,
  describe: (value: T) => string,
  counterexample: (value: T) => unknown
): Failure => ({
  law,
  description: describe(failure.value),
  counterexample: counterexample(failure.value),
  seed: setup.budget.seed,
  path: failure.path,
  pair: { proposed: pair.proposed, committed: pair.committed },
  rule: describeRule(pair)
})

const over = <T>(
  law: string,
  setup: Setup<any, any, any>,
  pairs: ReadonlyArray<AllowedPair>,
  check: (pair: AllowedPair) => PairResult<T>,
  describe: (value: T) => string,
  counterexample: (value: T) => unknown,
  ignored: ReadonlyArray<string>,
  blame: (pair: AllowedPair, value: T) => AllowedPair = (pair) => pair
): Outcome => {
  const checked: Array<readonly [AllowedPair, number]> = []
  for (const pair of pairs) {
    const result = check(pair)
    if (result.failure !== undefined) {
      const blamed = blame(pair, result.failure.value)
      const found = blamed === pair ? "" : `\n  (found among the cases of ${pair.proposed} → ${pair.committed}: ` +
        `pairs: [["${pair.proposed}", "${pair.committed}"]] replays just those)`
      const failure = failureOf(
        law,
        setup,
        blamed,
        result.failure,
        (value: T) => describe(value) + found,
        counterexample
      )
      return { _tag: "Failed", failure }
    }
    checked.push([pair, result.cases])
  }
  return { _tag: "Held", report: makeReport(law, setup.budget.seed, setup.budget.casesPerPair, checked, ignored) }
}

/**
 * Runs a law without capturing stack traces: a decider fails with a domain error on most generated cases, and an
 * error's stack is most of its cost. The laws run synchronously, so nothing else sees the limit.
 */
export const withoutStackTraces = <T>(run: () => T): T => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return run()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** The allowed pairs a run checks (all, or those the caller named), and the named pairs the registry never allows. */
const selected = (
  options: { readonly pairs?: ReadonlyArray<readonly [string, string]> | undefined },
  pairs: ReadonlyArray<AllowedPair>
): readonly [ReadonlyArray<AllowedPair>, ReadonlyArray<string>] => {
  if (options.pairs === undefined) return [pairs, []]
  const named = options.pairs
  const isNamed = (pair: AllowedPair) => named.some(([p, c]) => pair.proposed === p && pair.committed === c)
  const ignored = named.filter(([p, c]) => !pairs.some((pair) => pair.proposed === p && pair.committed === c))
  return [pairs.filter(isNamed), ignored.map(([p, c]) => `${p} → ${c}`)]
}

/** Commutation over every pair the registry lets through. */
export const commutation = <A extends Event.Tagged, State>(
  options: RunOptions<A, State, any>
): Outcome => {
  const setup = makeSetup(options)
  const letThrough = registryLetsPairThrough(options.registry, setup.encode)
  const [pairs, ignored] = selected(options, allowedPairs(options.registry, tagsOf(options.schema)))
  return over(
    "commutation",
    setup,
    pairs,
    (pair) => commutationPair(setup, pair.proposed, pair.committed, letThrough),
    (c: CommutationCase<A, State>) => describeCommutation(setup.domain, c),
    (c) => [c.history.events, c.proposed, c.committed],
    ignored
  )
}

/** Decision stability over every pair the registry lets through. */
export const decisionStability = <A extends Event.Tagged, State, Command>(
  options: RunOptions<A, State, Command>
): Outcome => {
  const setup = makeSetup(options)
  const commands = setup.commands!
  const exploration = explore(setup.domain, commands, setup.budget.seed)
  const letThrough = registryLetsThrough(options.registry, setup.encode)
  const [pairs, ignored] = selected(options, allowedPairs(options.registry, tagsOf(options.schema)))
  return over(
    "decision stability",
    setup,
    pairs,
    (pair) => decisionPair(setup, commands, exploration, pair.proposed, pair.committed, letThrough),
    (c: Decided<A, State, Command>) => describeDecision(c),
    (c) => [c.history.events, c.behind, c.command],
    ignored,
    // The pair at fault is the one whose committed event changes the decision, which may come before the event
    // of the pair whose cases found the failure.
    (pair, c) => {
      const culprit = c.behind[culpritIndex(setup, c)]
      const committed = culprit === undefined ? undefined : tagOfValue(culprit)
      const passage = committed === undefined ? undefined : passageOf(options.registry, pair.proposed, committed)
      return passage === undefined || committed === undefined ? pair : { proposed: pair.proposed, committed, passage }
    }
  )
}

/** The API's options, as the internals take them. */
export const setupOptions = <A extends Event.Tagged, State, Command>(
  schema: Event.EventSchema<A>,
  options: Omit<Api.CommonOptions<A, State>, "registry"> & {
    readonly commands?: SetupOptions<A, State, Command>["commands"]
    readonly equivalence?: SetupOptions<A, State, Command>["equivalence"]
    readonly maxBehind?: number | undefined
  },
  decider: {
    readonly initialState: State
    readonly evolve: (state: State, event: A) => State
    readonly decide?: SetupOptions<A, State, Command>["decide"]
  }
): SetupOptions<A, State, Command> => ({
  registry: "registry" in options ? options.registry as ConflictRegistry.ConflictRegistry<A, any> : undefined,
  schema,
  events: options.events,
  evolve: decider.evolve,
  initialState: decider.initialState,
  decide: decider.decide,
  commands: options.commands,
  states: options.states,
  keys: options.keys,
  equivalence: options.equivalence,
  maxHistory: options.maxHistory,
  maxBehind: options.maxBehind,
  casesPerPair: options.casesPerPair,
  run: options.run
})
