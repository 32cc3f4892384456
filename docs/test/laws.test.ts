import { ConflictRegistry, Event } from "@concord/core"
import { Events, Registry } from "@concord/example-crm"
import type { Laws as LawsApi } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Arbitraries from "../examples/arbitraries.js"
import * as Inference from "../examples/laws-inference.js"
import * as Inferred from "../examples/laws-inferred.js"
import * as Laws from "../examples/laws.js"
// Registers the example's own suite: the CRM registry obeys both laws, and every allowed pair is exercised.
import "../examples/laws-suite.js"

const seeds = Array.from({ length: 20 }, (_, i) => i + 1)

// Inference runs both laws on every ordered pair of types: once for all the tests that read it.
let running: Promise<LawsApi.Inference<Events.CrmEvent>> | undefined
const crmInference = () => (running ??= Effect.runPromise(Inference.inference))

describe("laws examples", () => {
  it("the wrong registry breaks commutation, with the message the docs show", async () => {
    const violation = await Laws.violation(Laws.commutation(Laws.wrong))
    expect(violation?.law).toBe("commutation")
    expect(violation?.pair).toEqual({ proposed: "ClientValueUpgraded", committed: "ClientValueUpgraded" })
    expect(violation?.rule).toBe(
      "the rule for ClientValueUpgraded does not list ClientValueUpgraded, so they never conflict"
    )
    await expect(violation?.message).toMatchFileSnapshot("../examples/output/commutation-violation.txt")
  })

  it("checking only the pair a violation names, at its seed, finds the same counterexample", async () => {
    const full = await Laws.violation(Laws.commutation(Laws.wrong))
    const replayed = await Laws.violation(Laws.replay)
    expect(replayed?.counterexample).toEqual(full?.counterexample)
    expect(replayed?.message).toBe(full?.message)
  })

  it("the fixed registry obeys both laws", async () => {
    expect(await Laws.violation(Laws.commutation(Laws.fixed))).toBeUndefined()
    expect(await Laws.violation(Laws.decisionStability(Laws.fixed))).toBeUndefined()
  })

  it("the too lenient registry commutes but breaks decision stability, with the message the docs show", async () => {
    expect(await Laws.violation(Laws.commutation(Laws.tooLenient))).toBeUndefined()
    const violation = await Laws.violation(Laws.decisionStability(Laws.tooLenient))
    expect(violation?.law).toBe("decision stability")
    expect(violation?.pair?.proposed).toBe("MeetingNoteAdded")
    expect(violation?.message).toContain("ClientIsArchived")
    await expect(violation?.message).toMatchFileSnapshot("../examples/output/decision-stability-violation.txt")
  })
})

describe("the laws' reports", () => {
  it("on the CRM registry, every allowed pair gets its full share of cases", async () => {
    const summaries = await Effect.runPromise(Laws.summaries)
    expect(summaries).toContain("commutation: checked 12 allowed pairs, each on ≥ 100 cases (seed 1124)")
    expect(summaries).toContain("decision stability: checked 12 allowed pairs, each on ≥ 100 cases (seed 1124)")
    await expect(summaries).toMatchFileSnapshot("../examples/output/laws-report.txt")
  })

  it("commands that never add a note leave the note's pairs unreached, and the report names them", async () => {
    const report = await Effect.runPromise(Laws.withoutNotesReport)
    expect(report.unreached.map((pair) => [pair.proposed, pair.committed])).toEqual([
      ["MeetingNoteAdded", "ClientValueUpgraded"],
      ["MeetingNoteAdded", "ClientValueDowngraded"],
      ["MeetingNoteAdded", "MeetingNoteAdded"],
      ["MeetingNoteAdded", "ContactEmailChanged"]
    ])
    expect(report.pairs.filter((pair) => pair.cases > 0).every((pair) => pair.cases >= 100)).toBe(true)
    await expect(report.summary).toMatchFileSnapshot("../examples/output/laws-report-unreached.txt")
  })
})

describe("generated keys and annotations", () => {
  it("the Schema's own arbitrary almost never draws the same SKU twice; the annotated one often does", () => {
    expect(Arbitraries.sameSkuShare(Arbitraries.PriceSet, 1_000)).toBeLessThan(0.05)
    expect(Arbitraries.sameSkuShare(Arbitraries.AnnotatedPriceEvent.members[0], 1_000)).toBeGreaterThan(0.25)
  })

  it("without annotations the law catches the wrong SKU rule at every seed, and the right registry holds", async () => {
    for (const seed of seeds) {
      const wrong = await Laws.violation(Arbitraries.commutation(Arbitraries.wrong, seed))
      expect(wrong?.pair, `seed ${seed}`).toEqual({ proposed: "PriceSet", committed: "PriceSet" })
      const right = await Effect.runPromise(Arbitraries.commutation(Arbitraries.right, seed))
      expect(right.unreached, `seed ${seed}`).toEqual([])
    }
  })

  it("with annotations the counterexample names a readable SKU", async () => {
    const plain = await Laws.violation(Arbitraries.commutation(Arbitraries.wrong, 1))
    const annotated = await Laws.violation(Arbitraries.annotatedCommutation(Arbitraries.wrong, 1))
    expect(annotated?.message).toMatch(/"sku":"sku-[123]","price":1\}/)
    await expect(plain?.message).toMatchFileSnapshot("../examples/output/price-violation-plain.txt")
    await expect(annotated?.message).toMatchFileSnapshot("../examples/output/price-violation-annotated.txt")
  })
})

describe("inferring a registry", () => {
  it("the CRM's inference, with the report and comparison the docs show", async () => {
    const inferred = await crmInference()
    await expect(inferred.report).toMatchFileSnapshot("../examples/output/inference-report.txt")
    const comparison = Inference.compareHandWritten(inferred)
    expect(comparison.dangers).toEqual([])
    expect(comparison.lost.map((pair) => `${pair.proposed} → ${pair.committed}`)).toEqual([
      "ClientRegistered → MeetingNoteAdded",
      "ClientRegistered → ContactEmailChanged",
      "MeetingNoteAdded → ClientRegistered",
      "ContactEmailChanged → ClientRegistered",
      "ClientArchived → ClientValueUpgraded",
      "ClientArchived → ClientValueDowngraded",
      "ClientArchived → MeetingNoteAdded",
      "ClientArchived → ContactEmailChanged"
    ])
    await expect(comparison.summary).toMatchFileSnapshot("../examples/output/inference-compare.txt")
    const wrong = Inference.compareWrong(inferred)
    expect(wrong.dangers.map((pair) => `${pair.proposed} → ${pair.committed}`)).toEqual([
      "ClientValueUpgraded → ClientValueUpgraded"
    ])
    expect(wrong.dangers[0]?.evidence?.law).toBe("commutation")
    await expect(wrong.summary).toMatchFileSnapshot("../examples/output/inference-danger.txt")
  })

  it("the pasted source is the inferred registry, and it obeys both laws", async () => {
    const inferred = await crmInference()
    expect(Either.getOrThrow(ConflictRegistry.toDocument(Inferred.registry))).toEqual(inferred.document)
    expect(inferred.source).toContain("export const registry = ConflictRegistry.make(Events.CrmEvent).pipe(")
    expect(await Laws.violation(Laws.commutation(Inferred.registry))).toBeUndefined()
    expect(await Laws.violation(Laws.decisionStability(Inferred.registry))).toBeUndefined()
  })

  it("the hand-written registry differs from the inferred one exactly on the pairs the comparison lists", async () => {
    const comparison = Inference.compareHandWritten(await crmInference())
    const tags = Event.tags(Events.CrmEvent)
    // Two email changes of one contact: the one pair under a sameKey rule, the same in both registries.
    const differing = tags.flatMap((proposed) =>
      tags.filter((committed) => {
        const pair = [{ type: proposed, data: { contactId: "alice" } }, {
          type: committed,
          data: { contactId: "alice" }
        }] as const
        return ConflictRegistry.isConflict(Registry.registry, ...pair) !==
          ConflictRegistry.isConflict(Inferred.registry, ...pair)
      }).map((committed) => `${proposed} → ${committed}`)
    )
    expect(differing).toEqual(comparison.lost.map((pair) => `${pair.proposed} → ${pair.committed}`))
  })
})
