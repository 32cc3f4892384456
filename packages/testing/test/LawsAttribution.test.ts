// Decision stability names the rule that let the harm through: the pair whose committed event changes the decision,
// not the pair whose cases happened to find it.
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { clearingPassesLocking, ShelfCommand, shelfDecider } from "./domains/Shelf.js"

describe("the rule at fault in a decision stability violation", () => {
  it.effect("is the one rule that is wrong: Cleared lets Locked pass", () =>
    Effect.gen(function*() {
      // The correct registry but for Cleared, which no longer conflicts with Locked.
      const registry = clearingPassesLocking
      const violation = yield* Effect.flip(
        Laws.decisionStability({ registry, decider: shelfDecider, commands: ShelfCommand, run: { seed: 42 } })
      )
      // Actual: pair { Cleared, Stocked }, rule "Cleared conflicts with Stocked only when sameKey("item") holds ...",
      // on a case whose events committed since are [Locked, Stocked of another item].
      expect(violation).toMatchObject({ pair: { proposed: "Cleared", committed: "Locked" } })
    }))
})
