import { ConflictRegistry } from "@concord/core"
import { Commands, Events, Registry } from "@concord/example-crm"
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

// Where inference is more permissive than the hand-written registry, and why each is safe: the registry conflicts
// there by choice (a registration or an archiving is a decision about the whole record, taken on its latest state).
const stricterByChoice: Record<string, string> = {
  "ClientRegistered → MeetingNoteAdded":
    "only an unregistered record registers, and a note needs a registered one: no history has both behind a writer",
  "ClientRegistered → ContactEmailChanged":
    "only an unregistered record registers, and an email change needs a registered one",
  "MeetingNoteAdded → ClientRegistered":
    "a note is decided on an active record, which a registration leaves active; the two commute",
  "ContactEmailChanged → ClientRegistered":
    "an email change is decided on an active record, which a registration leaves active; the two commute",
  "ClientArchived → ClientValueUpgraded": "archiving needs an active record, which a value change leaves active",
  "ClientArchived → ClientValueDowngraded": "archiving needs an active record, which a value change leaves active",
  "ClientArchived → MeetingNoteAdded": "archiving needs an active record, which a note leaves active",
  "ClientArchived → ContactEmailChanged": "archiving needs an active record, which an email change leaves active"
}

describe("inferring the CRM registry", () => {
  const inference = Effect.runSync(Effect.cached(
    Laws.infer({
      decider: Commands.decider,
      commands: Commands.CrmCommand,
      schema: Events.CrmEvent,
      schemaName: "CrmEvent",
      run: { seed: 1 }
    })
  ))

  it.live(
    "gives the hand-written registry, except eight pairs it shows safe, each explained",
    () =>
      Effect.gen(function*() {
        const inferred = yield* inference
        const comparison = Laws.compare(Registry.registry, inferred)
        // Nothing the hand-written registry lets through is refuted by the evidence.
        expect(comparison.dangers).toEqual([])
        expect(comparison.unjudged).toEqual([])
        expect(Object.fromEntries(comparison.lost.map((d) => [`${d.proposed} → ${d.committed}`, d.inferred]))).toEqual(
          Object.fromEntries(Object.keys(stricterByChoice).map((pair) => [pair, { _tag: "Allowed" }]))
        )
        // Every other pair agrees: the same condition on the same field.
        const lost = new Set(Object.keys(stricterByChoice))
        for (const pair of inferred.pairs) {
          const name = `${pair.proposed} → ${pair.committed}`
          if (lost.has(name)) continue
          const hand = name === "ContactEmailChanged → ContactEmailChanged"
            ? { _tag: "SameKey", field: "contactId" }
            : ConflictRegistry.isConflict(
                Registry.registry,
                { type: pair.proposed, data: {} },
                { type: pair.committed, data: {} }
              )
            ? { _tag: "Conflict" }
            : { _tag: "Allowed" }
          expect(pair.verdict, name).toEqual(hand)
        }
      }),
    60_000
  )

  it.live(
    "the inferred registry obeys both laws at other seeds, each of the eight pairs checked on ten cases or more",
    () =>
      Effect.gen(function*() {
        const inferred = yield* inference
        // The inferred registry itself: the laws hold on it at another seed, with every allowed pair reached.
        for (const seed of [2, 3]) {
          const run = { seed }
          const commutation = yield* Laws.commutation({
            registry: inferred.registry,
            evolve: Commands.decider.evolve,
            initialState: Commands.decider.initialState,
            decider: Commands.decider,
            commands: Commands.CrmCommand,
            run
          })
          const decisions = yield* Laws.decisionStability({
            registry: inferred.registry,
            decider: Commands.decider,
            commands: Commands.CrmCommand,
            run
          })
          for (const name of Object.keys(stricterByChoice)) {
            const [proposed, committed] = name.split(" → ")
            for (const report of [commutation, decisions]) {
              const covered = report.pairs.find((p) => p.proposed === proposed && p.committed === committed)
              expect(covered?.cases, `${report.law} ${name}`).toBeGreaterThanOrEqual(10)
            }
          }
        }
      }).pipe(Effect.catchTag("MissingSchema", Effect.die)),
    60_000
  )

  it.live(
    "writes source that names the CRM's Schema and reads back as the same registry",
    () =>
      Effect.gen(function*() {
        const inferred = yield* inference
        expect(inferred.source).toMatch(/^export const registry = ConflictRegistry\.make\(CrmEvent\)\.pipe\(/)
        const evaluated = new Function(
          "ConflictRegistry",
          "CrmEvent",
          inferred.source.replace("export const registry =", "return")
        )(
          ConflictRegistry,
          Events.CrmEvent
        )
        expect(ConflictRegistry.toDocument(evaluated)).toEqual(ConflictRegistry.toDocument(inferred.registry))
        expect(inferred.report).toContain("ContactEmailChanged:\n")
        expect(inferred.report).toContain("  → ContactEmailChanged: conflicts only when contactId is the same")
      }),
    60_000
  )
})
