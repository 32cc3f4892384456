// #region suite
// test/Registry.test.ts
import { Client, Commands, Registry } from "@concord/example-crm"
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Console, Effect } from "effect"

describe("the client registry", () => {
  it.effect("lets through only events that commute", () =>
    Effect.gen(function*() {
      const report = yield* Laws.commutation({
        registry: Registry.registry,
        evolve: Client.evolve,
        initialState: Client.initial,
        // With the decider and commands, cases start from states the system can really be in.
        decider: Commands.decider,
        commands: Commands.CrmCommand
      })
      // Every pair the registry lets through was exercised: a pair no case reached is reported, not failed.
      expect(report.unreached).toEqual([])
    }))

  it.effect("lets through only decisions the current state would also make", () =>
    Effect.gen(function*() {
      const report = yield* Laws.decisionStability({
        decider: Commands.decider,
        registry: Registry.registry,
        commands: Commands.CrmCommand
      })
      yield* Console.log(report.summary)
      expect(report.unreached).toEqual([])
    }))
})
// #endregion suite
