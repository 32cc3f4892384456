// Inference and comparison in the API's terms: the internals' attempts and failures as the public pairs and
// violations, with the registry's document, source and report.
import type { Event } from "@concord/core"
import { ConflictRegistry } from "@concord/core"
import * as Either from "effect/Either"
import type * as Api from "../../Laws.js"
import * as internalCompare from "./compare.js"
import * as internalInfer from "./infer.js"
import * as internalText from "./inferenceText.js"
import type { Failure } from "./laws.js"
import { setupOptions, withoutStackTraces } from "./laws.js"
import { defaultCasesPerPair, tagsOf } from "./setup.js"

/** Infers a registry and presents it; `violation` makes the API's error of a failure. */
export const infer = <Command, A extends Event.Tagged, State, E>(
  options: Api.InferOptions<Command, A, State, E>,
  violation: (failure: Failure) => Api.LawViolation
): Api.Inference<A> => {
  const inferred = withoutStackTraces(() =>
    internalInfer.infer({ ...setupOptions(options.schema, options, options.decider), registry: undefined })
  )
  const tags = tagsOf(options.schema)
  const pairs = inferred.pairs.map((pair): Api.InferredPair => {
    const kept = pair.attempts.find((attempt) =>
      pair.verdict._tag === "SameKey"
        ? attempt.condition._tag === "SameKey" && attempt.condition.field === pair.verdict.field
        : attempt.condition._tag === "Unconditional"
    )!
    const attempts = pair.attempts.map((attempt): Api.Attempt => ({
      condition: attempt.condition,
      cases: { commutation: attempt.commutationCases, decision: attempt.decisionCases },
      evidence: attempt.failure === undefined ? undefined : violation(attempt.failure)
    }))
    return {
      proposed: pair.proposed,
      committed: pair.committed,
      verdict: pair.verdict,
      reason: pair.reason,
      cases: { commutation: kept.commutationCases, decision: kept.decisionCases },
      evidence: attempts.filter((attempt) => attempt.evidence !== undefined).at(-1)?.evidence,
      attempts
    }
  })
  const casesPerPair = options.casesPerPair ?? options.run?.numRuns ?? defaultCasesPerPair
  return {
    registry: inferred.registry,
    // Inferred rules are lists and `sameKey`s, which always have a document.
    document: Either.getOrThrow(ConflictRegistry.toDocument(inferred.registry)),
    source: internalText.source(options.schemaName ?? "Events", tags, inferred.pairs),
    pairs,
    report: internalText.report(tags, inferred.pairs, casesPerPair, inferred.seed),
    seed: inferred.seed
  }
}

/** Compares a registry with an inference, with a summary in words. */
export const compare = <A extends Event.Tagged>(
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  inference: Api.Inference<A>
): Api.Comparison => {
  const differences = internalCompare.compare(
    registry,
    inference.pairs.map((pair) => ({
      ...pair,
      attempts: pair.attempts.map((attempt) => ({ condition: attempt.condition, failure: attempt.evidence }))
    }))
  )
  const line = (difference: Api.Difference) =>
    `  ${difference.proposed} → ${difference.committed}: the registry ${difference.registry}; ${difference.reason}`
  const summary = [
    `${differences.dangers.length} pair${differences.dangers.length === 1 ? "" : "s"} more permissive than the ` +
    `evidence, ${differences.lost.length} stricter` +
    (differences.unjudged.length === 0
      ? ""
      : `, ${differences.unjudged.length} not judged (a predicate, or no evidence)`),
    ...(differences.dangers.length === 0 ? [] : ["danger:", ...differences.dangers.map(line)]),
    ...(differences.lost.length === 0 ? [] : ["acceptance lost:", ...differences.lost.map(line)])
  ].join("\n")
  return { ...differences, summary }
}
