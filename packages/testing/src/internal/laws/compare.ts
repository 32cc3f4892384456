// A hand-written registry against an inferred one: where it lets through what the evidence refuses (danger), and
// where it refuses what the evidence allows (acceptance lost).
import type { ConflictRegistry } from "@concord/core"
import type { Attempt, Verdict } from "./infer.js"
import { describeVerdict } from "./inferenceText.js"
import type { Passage } from "./pairs.js"
import { firstLine, passageOf } from "./pairs.js"

/** Failures as the caller holds them: anything with a law and a description. */
interface Evidence {
  readonly law: string
  readonly description: string
}

/** A pair's verdict with what was tried, as `compare` reads it. */
export interface Judged<F extends Evidence> {
  readonly proposed: string
  readonly committed: string
  readonly verdict: Verdict
  readonly reason: string
  readonly attempts: ReadonlyArray<{ readonly condition: Attempt["condition"]; readonly failure: F | undefined }>
}

/** One pair where the two registries differ. */
export interface Difference<F> {
  readonly proposed: string
  readonly committed: string
  /** What the hand-written registry does with the pair, in words. */
  readonly registry: string
  readonly inferred: Verdict
  /** The counterexample against the hand-written rule, when the evidence has one. */
  readonly evidence: F | undefined
  readonly reason: string
}

/** The differences, by kind. */
export interface Differences<F> {
  readonly dangers: ReadonlyArray<Difference<F>>
  readonly lost: ReadonlyArray<Difference<F>>
  /** Pairs under a predicate rule, which the evidence cannot judge. */
  readonly unjudged: ReadonlyArray<Difference<F>>
}

const rank = (verdict: Verdict["_tag"]) => verdict === "Conflict" ? 0 : verdict === "SameKey" ? 1 : 2

const describePassage = (passage: Passage | undefined): string =>
  passage === undefined
    ? "conflicts"
    : passage._tag === "Unlisted"
    ? "never conflicts"
    : passage._tag === "SameKey"
    ? `conflicts only when ${passage.field} is the same`
    : "conflicts when its predicate holds"

/** The attempt that tried what the hand-written registry does, if inference tried it. */
const attemptFor = <F extends Evidence>(pair: Judged<F>, passage: Passage) =>
  pair.attempts.filter((attempt) =>
    passage._tag === "Unlisted"
      ? attempt.condition._tag === "Unconditional"
      : passage._tag === "SameKey" && attempt.condition._tag === "SameKey" && attempt.condition.field === passage.field
  ).at(-1)

/** Compares a registry with inferred verdicts, pair by pair. */
export const compare = <F extends Evidence>(
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  pairs: ReadonlyArray<Judged<F>>
): Differences<F> => {
  const dangers: Array<Difference<F>> = []
  const lost: Array<Difference<F>> = []
  const unjudged: Array<Difference<F>> = []
  for (const pair of pairs) {
    const passage = passageOf(registry, pair.proposed, pair.committed)
    const base = {
      proposed: pair.proposed,
      committed: pair.committed,
      registry: describePassage(passage),
      inferred: pair.verdict
    }
    if (passage?._tag === "When") {
      unjudged.push({ ...base, evidence: undefined, reason: "a predicate rule: inference judges sameKey rules only" })
      continue
    }
    const hand = passage === undefined ? "Conflict" : passage._tag === "Unlisted" ? "Allowed" : "SameKey"
    // A conflict for want of cases is no evidence against a more permissive rule: it cannot be judged either way.
    const noEvidence = pair.verdict._tag === "Conflict" &&
      pair.attempts.every((attempt) => attempt.failure === undefined)
    if (noEvidence && hand !== "Conflict") {
      unjudged.push({ ...base, evidence: undefined, reason: pair.reason })
      continue
    }
    const tried = passage === undefined ? undefined : attemptFor(pair, passage)
    // A sameKey on another field than the evidence chose is a danger only when the evidence refutes it.
    const refuted = tried?.failure !== undefined
    if (rank(hand) > rank(pair.verdict._tag) || (hand === "SameKey" && refuted)) {
      dangers.push({
        ...base,
        evidence: tried?.failure,
        reason: tried?.failure !== undefined
          ? `${tried.failure.law} fails: ${firstLine(tried.failure.description)}`
          : `the evidence ${describeVerdict(pair.verdict)}: ${pair.reason}`
      })
    } else if (rank(hand) < rank(pair.verdict._tag)) {
      lost.push({
        ...base,
        evidence: undefined,
        reason: `the evidence ${describeVerdict(pair.verdict)}: ${pair.reason}`
      })
    }
  }
  return { dangers, lost, unjudged }
}
