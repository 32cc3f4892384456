import { ConflictRegistry } from "@concord/core"
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"

describe("Laws without a Schema", () => {
  const registry = ConflictRegistry.untyped().pipe(ConflictRegistry.never("Noted"))

  it.effect("commutation fails with a typed MissingSchema, not a defect", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Laws.commutation({ registry, evolve: (n: number) => n + 1, initialState: 0 }))
      expect(error).toBeInstanceOf(Laws.MissingSchema)
      expect(error).toMatchObject({ _tag: "MissingSchema", law: "commutation" })
      expect(error.message).toContain("ConflictRegistry.make(schema)")
    }))

  it.effect("decision stability fails with a typed MissingSchema, not a defect", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Laws.decisionStability({
        decider: { initialState: 0, evolve: (n: number) => n + 1, decide: () => Effect.succeed([]) },
        registry,
        commands: fc.constant("noop")
      }))
      expect(error).toMatchObject({ _tag: "MissingSchema", law: "decision stability" })
    }))
})
