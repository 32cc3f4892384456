import { ConflictRegistry, type Event } from "@concord/core"
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Exit } from "effect"
import * as Tasks from "./domains/Tasks.js"
import { type Case, crm, tasks } from "./support/cases.js"
import * as Exhaustive from "./support/exhaustive.js"
import { relaxationName, relaxations } from "./support/relaxations.js"

// Each domain is explored once; every registry below is judged on the same universe.
const universes = new Map<Case<any, any, any, any>, Exhaustive.Universe<any, any, any, any>>()
const universeOf = <Command, A extends Event.Tagged, State, E>(
  domain: Case<Command, A, State, E>
): Exhaustive.Universe<Command, A, State, E> => {
  let universe = universes.get(domain)
  if (universe === undefined) {
    universe = Exhaustive.explore(domain)
    universes.set(domain, universe)
  }
  return universe
}

const classify = <A extends Event.Tagged>(domain: Case<any, A, any, any>) =>
  Object.fromEntries(
    relaxations(domain.registry, domain.schema).map((mutant) => {
      const verdict = Exhaustive.judge(universeOf(domain), { tested: mutant.registry, reference: domain.registry })
      return [relaxationName(mutant), verdict.harmful ? "harmful" : "harmless"]
    })
  )

const expected = (domain: Case<any, any, any, any>) => ({
  ...Object.fromEntries(domain.harmful.map((name) => [name, "harmful"])),
  ...Object.fromEntries(Object.keys(domain.harmless).map((name) => [name, "harmless"]))
})

describe.each([crm, tasks])("the exhaustive oracle on the $name", (domain: Case<any, any, any, any>) => {
  it("finds the correct registry harmless against itself: it lets nothing through that the reference does not", () => {
    const universe = universeOf(domain)
    expect(universe.scenarios).toBeGreaterThan(10_000)
    expect(Exhaustive.judge(universe, { tested: domain.registry, reference: domain.registry })).toEqual({
      harmful: false,
      scenarios: 0
    })
  })

  it("finds every stale write the correct registry accepts harmless (judged against plain optimistic concurrency)", () => {
    const verdict = Exhaustive.judge(universeOf(domain), {
      tested: domain.registry,
      reference: ConflictRegistry.make(domain.schema)
    })
    expect(verdict.harmful ? Exhaustive.describeHarm(verdict.example) : "harmless").toBe("harmless")
    expect(verdict.scenarios).toBeGreaterThan(1_000)
  })

  it("classifies every single relaxation of the registry as worked out by hand", () => {
    expect(domain.harmful.length + Object.keys(domain.harmless).length).toBe(
      relaxations(domain.registry, domain.schema).length
    )
    expect(classify(domain)).toEqual(expected(domain))
  })
})

describe("the exhaustive oracle's examples", () => {
  it("shows an upgrade let past an upgrade: the stale upgrade is no longer an upgrade", () => {
    const wrong = crm.registry.pipe(
      ConflictRegistry.never("ClientValueUpgraded"),
      ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueDowngraded", "ClientRegistered", "ClientArchived"])
    )
    const verdict = Exhaustive.judge(universeOf(crm), { tested: wrong, reference: crm.registry })
    expect(verdict.harmful).toBe(true)
    expect(verdict.scenarios).toBeGreaterThan(0)
    if (!verdict.harmful) return
    const example = verdict.example
    expect(example._tag).toBe("DecisionChanges")
    if (example._tag !== "DecisionChanges") return
    expect(example.command._tag).toBe("UpgradeClientValue")
    expect(example.proposed.map((event) => event._tag)).toEqual(["ClientValueUpgraded"])
    expect(example.behind.map((event) => event._tag)).toContain("ClientValueUpgraded")
    expect(Exit.isFailure(example.current)).toBe(true)
    expect(Exhaustive.describeHarm(example)).toMatch(/gives \[ClientValueUpgraded\] on the stale state but fails/)
  })

  it("shows a pair that diverges on a reachable state when no stale decision exhibits it", () => {
    // A registration is only ever decided before any upgrade, but the two orders still differ on an active record.
    const wrong = crm.registry.pipe(
      ConflictRegistry.never("ClientRegistered"),
      ConflictRegistry.conflicts("ClientRegistered", [
        "ClientRegistered",
        "ClientValueDowngraded",
        "MeetingNoteAdded",
        "ContactEmailChanged",
        "ClientArchived"
      ])
    )
    const verdict = Exhaustive.judge(universeOf(crm), { tested: wrong, reference: crm.registry })
    expect(verdict).toMatchObject({
      harmful: true,
      scenarios: 0,
      example: {
        _tag: "PairDiverges",
        proposed: { _tag: "ClientRegistered" },
        committed: { _tag: "ClientValueUpgraded" }
      }
    })
  })

  it("shows a deletion let past an assignment: the current decision also unassigns", () => {
    const [mutant] = relaxations(tasks.registry, tasks.schema).filter((relaxation) =>
      relaxation.proposed === "TaskDeleted" && relaxation.committed === "TaskAssigned"
    )
    const verdict = Exhaustive.judge(universeOf(tasks), { tested: mutant!.registry, reference: tasks.registry })
    expect(verdict).toMatchObject({ harmful: true, example: { _tag: "DecisionChanges" } })
    if (!verdict.harmful || verdict.example._tag !== "DecisionChanges") return
    expect(verdict.example.current).toEqual(Exit.succeed([
      Tasks.TaskUnassigned.make({ taskId: "t1" }),
      Tasks.TaskDeleted.make({ taskId: "t1" })
    ]))
  })
})

describe("the laws as they stand on the task board", () => {
  it.effect("commutation holds for its registry", () =>
    Laws.commutation({ registry: Tasks.registry, evolve: Tasks.evolve, initialState: Tasks.initial }))

  it.effect("decision stability holds for its registry", () =>
    Laws.decisionStability({ decider: Tasks.decider, registry: Tasks.registry, commands: Tasks.TaskCommand }))
})
