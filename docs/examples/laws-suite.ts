// #region suite
// test/Registry.test.ts
import { Client, Commands, Registry } from "@concord/example-crm"
import { Laws } from "@concord/testing"
import { describe, it } from "@effect/vitest"

describe("the client registry", () => {
  it.effect("lets through only events that commute", () =>
    Laws.commutation({ registry: Registry.registry, evolve: Client.evolve, initialState: Client.initial }))

  it.effect("lets through only decisions the current state would also make", () =>
    Laws.decisionStability({ decider: Commands.decider, registry: Registry.registry, commands: Commands.CrmCommand }))
})
// #endregion suite
