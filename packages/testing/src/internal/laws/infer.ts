// Inference: for each ordered pair of types, the most permissive condition the evidence supports (always let
// through, let through when a shared field differs, or conflict), then the registry they make, checked as a whole.
import type { Event } from "@concord/core"
import { ConflictRegistry } from "@concord/core"
import { explore } from "./cases.js"
import type { Shape } from "./domain.js"
import type { Failure } from "./laws.js"
import * as laws from "./laws.js"
import { commutationPair, decisionPair, describeCommutation, describeDecision } from "./pairChecks.js"
import type { Setup } from "./pairChecks.js"
import type { AllowedPair } from "./pairs.js"
import { firstLine } from "./pairs.js"
import type { SetupOptions } from "./setup.js"
import { makeSetup, tagsOf } from "./setup.js"

/** What the evidence supports for one pair. */
export type Verdict =
  | { readonly _tag: "Allowed" }
  | { readonly _tag: "SameKey"; readonly field: string }
  | { readonly _tag: "Conflict" }

/** One condition tried on a pair, with what the laws found. */
export interface Attempt {
  readonly condition: { readonly _tag: "Unconditional" } | { readonly _tag: "SameKey"; readonly field: string }
  readonly commutationCases: number
  readonly decisionCases: number
  readonly failure: Failure | undefined
}

/** A pair's verdict with the attempts behind it and why, in words. */
export interface InferredPair {
  readonly proposed: string
  readonly committed: string
  readonly verdict: Verdict
  readonly attempts: ReadonlyArray<Attempt>
  readonly reason: string
}

/** What inference found: every pair, the registry they make, and the seed that replays it. */
export interface Inferred<A extends Event.Tagged> {
  readonly registry: ConflictRegistry.ConflictRegistry<A, string>
  readonly pairs: ReadonlyArray<InferredPair>
  readonly seed: number
}

/** The fewest decision cases a pair needs before the evidence may let it through. */
const minimumCases = (casesPerPair: number) => Math.min(10, casesPerPair)

const sharedFields = (
  setup: Setup<any, any, any>,
  proposed: string,
  committed: string,
  keys: ReadonlyArray<string>
) => {
  const p = setup.domain.events.members.get(proposed)?.fields
  const c = setup.domain.events.members.get(committed)?.fields
  if (p === undefined || c === undefined) return []
  const shared = Array.from(p.keys()).filter((field) => c.has(field))
  // The caller's keys first: they name what the domain keys on.
  return [...keys.filter((field) => shared.includes(field)), ...shared.filter((field) => !keys.includes(field))]
}

/** A registry that lets exactly one pair through, under a condition, and conflicts everywhere else. */
const candidate = <A extends Event.Tagged>(
  schema: Event.EventSchema<A>,
  tags: ReadonlyArray<string>,
  proposed: string,
  committed: string,
  condition: Attempt["condition"]
): ConflictRegistry.ConflictRegistry<A, any> => {
  // Tags are strings here, not the domain's literal types: the registry is built untyped and used as the domain's.
  const others: ConflictRegistry.ConflictRegistry<any, any> = ConflictRegistry.conflicts(
    ConflictRegistry.make(schema) as ConflictRegistry.ConflictRegistry<any, any>,
    proposed,
    tags.filter((tag) => tag !== committed)
  )
  return condition._tag === "Unconditional"
    ? others
    : ConflictRegistry.conflictsWhen(others, proposed, committed, ConflictRegistry.sameKey(condition.field) as any)
}

/** Tries one condition on one pair: commutation first, then decision stability. */
const attempt = <A extends Event.Tagged, State, Command>(
  setup: Setup<A, State, Command>,
  commands: Shape<Command>,
  exploration: ReturnType<typeof explore<A, State, Command>>,
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  pair: AllowedPair
): Omit<Attempt, "condition"> => {
  const commutation = commutationPair(
    setup,
    pair.proposed,
    pair.committed,
    laws.registryLetsPairThrough(registry, setup.encode)
  )
  if (commutation.failure !== undefined) {
    return {
      commutationCases: commutation.cases,
      decisionCases: 0,
      failure: laws.failureOf(
        "commutation",
        setup,
        pair,
        commutation.failure,
        (c) => describeCommutation(setup.domain, c),
        (c) => [c.history.events, c.proposed, c.committed]
      )
    }
  }
  const decision = decisionPair(
    setup,
    commands,
    exploration,
    pair.proposed,
    pair.committed,
    laws.registryLetsThrough(registry, setup.encode)
  )
  return {
    commutationCases: commutation.cases,
    decisionCases: decision.cases,
    failure: decision.failure === undefined
      ? undefined
      : laws.failureOf(
        "decision stability",
        setup,
        pair,
        decision.failure,
        describeDecision,
        (c) => [c.history.events, c.behind, c.command]
      )
  }
}

const reasonOf = (verdict: Verdict, attempts: ReadonlyArray<Attempt>, minimum: number): string => {
  const unconditional = attempts[0]!
  switch (verdict._tag) {
    case "Allowed":
      return `both laws held on every case (${unconditional.commutationCases} for commutation, ` +
        `${unconditional.decisionCases} for decisions)`
    case "SameKey": {
      const keyed = attempts.find((a) => a.condition._tag === "SameKey" && a.condition.field === verdict.field)!
      return `${unconditional.failure?.law ?? "the evidence"} fails when ${verdict.field} is equal; with different ` +
        `${verdict.field} both laws held (${keyed.commutationCases} and ${keyed.decisionCases} cases)`
    }
    case "Conflict": {
      const failed = attempts.find((a) => a.failure !== undefined)
      return failed !== undefined
        ? `${failed.failure!.law} fails: ${firstLine(failed.failure!.description)}`
        : `no evidence: only ${unconditional.decisionCases} decision case${
          unconditional.decisionCases === 1 ? "" : "s"
        } ` +
          `(fewer than ${minimum}) had a command producing the proposed type succeed while the committed type ` +
          `was committed behind it`
    }
  }
}

/** Judges one pair: unconditionally, then under `sameKey` on each shared field. */
const judge = <A extends Event.Tagged, State, Command>(
  setup: Setup<A, State, Command>,
  commands: Shape<Command>,
  exploration: ReturnType<typeof explore<A, State, Command>>,
  schema: Event.EventSchema<A>,
  tags: ReadonlyArray<string>,
  keys: ReadonlyArray<string>,
  proposed: string,
  committed: string
): InferredPair => {
  const minimum = minimumCases(setup.budget.casesPerPair)
  const tryCondition = (condition: Attempt["condition"]): Attempt => ({
    condition,
    ...attempt(setup, commands, exploration, candidate(schema, tags, proposed, committed, condition), {
      proposed,
      committed,
      passage: condition._tag === "Unconditional" ? { _tag: "Unlisted" } : condition
    })
  })
  const holds = (a: Attempt) => a.failure === undefined && a.decisionCases >= minimum
  const attempts = [tryCondition({ _tag: "Unconditional" })]
  let verdict: Verdict = { _tag: "Conflict" }
  if (holds(attempts[0]!)) {
    verdict = { _tag: "Allowed" }
  } else if (attempts[0]!.failure !== undefined) {
    for (const field of sharedFields(setup, proposed, committed, keys)) {
      const keyed = tryCondition({ _tag: "SameKey", field })
      attempts.push(keyed)
      if (verdict._tag === "Conflict" && holds(keyed)) verdict = { _tag: "SameKey", field }
    }
  }
  return { proposed, committed, verdict, attempts, reason: reasonOf(verdict, attempts, minimum) }
}

/** The registry the verdicts make: `always`, `never`, or the conflicting types listed with the keyed pairs. */
export const build = <A extends Event.Tagged>(
  schema: Event.EventSchema<A>,
  tags: ReadonlyArray<string>,
  pairs: ReadonlyArray<InferredPair>
): ConflictRegistry.ConflictRegistry<A, string> => {
  let registry: ConflictRegistry.ConflictRegistry<any, any> = ConflictRegistry.make(schema)
  for (const proposed of tags) {
    const row = pairs.filter((pair) => pair.proposed === proposed)
    const conflicting = row.filter((pair) => pair.verdict._tag === "Conflict").map((pair) => pair.committed)
    const keyed = row.flatMap((pair) =>
      pair.verdict._tag === "SameKey" ? [[pair.committed, pair.verdict.field] as const] : []
    )
    if (conflicting.length === tags.length) registry = ConflictRegistry.always(registry, proposed)
    else if (conflicting.length === 0 && keyed.length === 0) registry = ConflictRegistry.never(registry, proposed)
    else {
      if (conflicting.length > 0) registry = ConflictRegistry.conflicts(registry, proposed, conflicting)
      for (const [committed, field] of keyed) {
        registry = ConflictRegistry.conflictsWhen(registry, proposed, committed, ConflictRegistry.sameKey(field))
      }
    }
  }
  return registry
}

const stricter = (pair: InferredPair, failure: Failure): InferredPair => {
  const attempts = [...pair.attempts, {
    condition: pair.verdict._tag === "SameKey" ? pair.verdict : { _tag: "Unconditional" as const },
    commutationCases: 0,
    decisionCases: 0,
    failure
  }]
  return {
    ...pair,
    verdict: { _tag: "Conflict" },
    attempts,
    reason: `with the rest of the inferred registry, ${failure.law} fails: ${firstLine(failure.description)}`
  }
}

/**
 * Infers a registry: each pair judged alone (its decision cases with one command behind the writer), then the whole
 * registry checked by both laws at the usual depth; a pair that fails there is made a conflict and the registry is
 * checked again, until both laws hold.
 */
export const infer = <A extends Event.Tagged, State, Command>(
  options: SetupOptions<A, State, Command>
): Inferred<A> => {
  const setup = makeSetup({ ...options, registry: undefined, maxBehind: 1 })
  const commands = setup.commands!
  const exploration = explore(setup.domain, commands, setup.budget.seed)
  const tags = tagsOf(options.schema)
  const keys = options.keys ?? []
  let pairs = tags.flatMap((proposed) =>
    tags.map((committed) => judge(setup, commands, exploration, options.schema, tags, keys, proposed, committed))
  )
  let registry = build(options.schema, tags, pairs)
  // Each round makes one allowed pair a conflict, so it ends.
  for (let round = 0; round <= pairs.length; round++) {
    // The seed the pairs were judged with, so that the seed reported replays the whole inference.
    const checked = { ...options, registry, run: { ...options.run, seed: setup.budget.seed } }
    const outcome = laws.commutation(checked)
    const failed = outcome._tag === "Failed" ? outcome : laws.decisionStability(checked)
    if (failed._tag === "Held") break
    const at = failed.failure.pair
    pairs = pairs.map((pair) =>
      pair.proposed === at.proposed && pair.committed === at.committed ? stricter(pair, failed.failure) : pair
    )
    registry = build(options.schema, tags, pairs)
  }
  return { registry, pairs, seed: setup.budget.seed }
}
