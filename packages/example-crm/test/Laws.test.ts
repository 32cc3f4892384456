import { ConflictRegistry } from "@concord/core"
import type { Events } from "@concord/example-crm"
import { Client, Commands, Registry } from "@concord/example-crm"
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

// The CRM registry always carries its Schema: a MissingSchema here would be a bug of this test.
const commutation = (registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>) =>
  Laws.commutation({ registry, evolve: Client.evolve, initialState: Client.initial, run: { numRuns: 300 } }).pipe(
    Effect.catchTag("MissingSchema", Effect.die)
  )

const decisionStability = (registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>) =>
  Laws.decisionStability({
    decider: Commands.decider,
    registry,
    commands: Commands.CrmCommand,
    run: { numRuns: 300 }
  }).pipe(Effect.catchTag("MissingSchema", Effect.die))

describe("the CRM registry obeys the laws", () => {
  it.effect("commutation: every pair it lets through gives the same state in either order", () =>
    commutation(Registry.registry))

  it.effect("decision stability: every stale decision it lets through is the one the current state makes", () =>
    decisionStability(Registry.registry))
})

describe("deliberately wrong registries fail the laws with a readable counterexample", () => {
  it.effect("ClientValueUpgraded never conflicting with itself breaks commutation: one upgrade overwrites the other", () =>
    Effect.gen(function*() {
      const wrong = Registry.registry.pipe(
        ConflictRegistry.never("ClientValueUpgraded"),
        ConflictRegistry.conflicts("ClientValueUpgraded", [
          "ClientValueDowngraded",
          "ClientRegistered",
          "ClientArchived"
        ])
      )
      const violation = yield* Effect.flip(commutation(wrong))
      expect(violation._tag).toBe("LawViolation")
      expect(violation.law).toBe("commutation")
      expect(violation.message).toContain("the registry lets ClientValueUpgraded pass ClientValueUpgraded")
      expect(violation.message).toContain("but the two orders give different states")
      expect(violation.message).toMatch(/seed -?\d+/)
      // Shrinking leaves two upgrades to different values after as short a history as it can.
      const [, proposed, committed] = violation.counterexample as [unknown, Events.CrmEvent, Events.CrmEvent]
      expect(proposed._tag).toBe("ClientValueUpgraded")
      expect(committed._tag).toBe("ClientValueUpgraded")
    }))

  it.effect("MeetingNoteAdded as never lets a note onto a client archived meanwhile: decision stability fails", () =>
    Effect.gen(function*() {
      const wrong = Registry.registry.pipe(ConflictRegistry.never("MeetingNoteAdded"))
      expect(yield* Effect.either(commutation(wrong))).toMatchObject({ _tag: "Right" })
      const violation = yield* Effect.flip(decisionStability(wrong))
      expect(violation.law).toBe("decision stability")
      expect(violation.message).toContain("the registry lets [MeetingNoteAdded] pass [")
      expect(violation.message).toContain("ClientArchived")
      expect(violation.message).toContain("ClientIsArchived")
    }))
})
