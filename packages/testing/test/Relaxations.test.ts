import { ConflictRegistry, Event } from "@concord/core"
import { Events, Registry } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, FastCheck as fc } from "effect"
import * as Tasks from "./domains/Tasks.js"
import { type Relaxation, relaxationName, relaxations } from "./support/relaxations.js"

// A few events of every type, from the Schema's arbitrary: the small identifier domains make keys collide often.
const samplesOf = <A extends Event.Tagged>(schema: Event.EventSchema<A>): ReadonlyArray<Event.EncodedEvent> => {
  const encode = Event.encode(schema)
  const byType = new Map<string, Map<string, Event.EncodedEvent>>()
  for (const event of fc.sample(Arbitrary.make(schema), { numRuns: 600, seed: 20261204 })) {
    const encoded = Effect.runSync(encode(event))
    const ofType = byType.get(encoded.type) ?? new Map()
    if (ofType.size < 8) ofType.set(JSON.stringify(encoded.data), encoded)
    byType.set(encoded.type, ofType)
  }
  expect([...byType.keys()].sort()).toEqual([...Event.tags(schema)].sort())
  return [...byType.values()].flatMap((ofType) => [...ofType.values()])
}

const field = (event: Event.EncodedEvent, name: string): unknown => (event.data as Record<string, unknown>)[name]

// The mutant answers as the registry does on every sampled pair but its own, which it lets through; the registry
// forbids that pair always, or exactly when the dropped field is equal in both events.
const expectExactlyOnePairRelaxed = <A extends Event.Tagged>(
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  mutant: Relaxation<A>,
  samples: ReadonlyArray<Event.EncodedEvent>
) => {
  const wrong: Array<string> = []
  let relaxedConflicts = 0
  for (const proposed of samples) {
    for (const committed of samples) {
      const before = ConflictRegistry.isConflict(registry, proposed, committed)
      const after = ConflictRegistry.isConflict(mutant.registry, proposed, committed)
      const relaxed = proposed.type === mutant.proposed && committed.type === mutant.committed
      const forbidden = mutant.field === undefined || field(proposed, mutant.field) === field(committed, mutant.field)
      if (relaxed ? after || before !== forbidden : after !== before) {
        wrong.push(`${JSON.stringify(proposed)} past ${JSON.stringify(committed)}: ${before} before, ${after} after`)
      }
      if (relaxed && before) relaxedConflicts++
    }
  }
  expect(wrong, relaxationName(mutant)).toEqual([])
  // The samples did hold pairs the registry forbids and the mutant lets through.
  expect(relaxedConflicts, relaxationName(mutant)).toBeGreaterThan(0)
}

const count = (mutants: ReadonlyArray<Relaxation<any>>) => ({
  "forbidden pair allowed": mutants.filter((mutant) => mutant.kind === "forbidden pair allowed").length,
  "sameKey dropped": mutants.filter((mutant) => mutant.kind === "sameKey dropped").length
})

describe("relaxations", () => {
  it("of the CRM registry: one per pair it forbids outright, one per sameKey", () => {
    const mutants = relaxations(Registry.registry, Events.CrmEvent)
    // Registering and archiving forbid all 6 types, value changes 4 (each other, registering, archiving), notes and
    // email changes 2 (the lifecycle); email changes also conflict on the same contact.
    expect(count(mutants)).toEqual({ "forbidden pair allowed": 6 + 6 + 4 + 4 + 2 + 2, "sameKey dropped": 1 })
    expect(mutants.filter((mutant) => mutant.kind === "sameKey dropped")).toMatchObject([
      { proposed: "ContactEmailChanged", committed: "ContactEmailChanged", field: "contactId" }
    ])
    expect(new Set(mutants.map(relaxationName)).size).toBe(mutants.length)
  })

  it("of the task board's registry: every type forbids BoardClosed, closing forbids three, the rest is by key", () => {
    const mutants = relaxations(Tasks.registry, Tasks.TaskEvent)
    expect(count(mutants)).toEqual({
      "forbidden pair allowed": 9 + 2,
      "sameKey dropped": 5 + 4 + 5 + 4 + 5 + 4 + 3 + 2
    })
    expect(mutants.filter((mutant) => mutant.field === "commentId").map(relaxationName)).toEqual([
      "CommentPosted past CommentPosted (sameKey commentId dropped)"
    ])
  })

  it("each mutant of the CRM registry differs from it in its one pair and nowhere else", () => {
    const samples = samplesOf(Events.CrmEvent)
    for (const mutant of relaxations(Registry.registry, Events.CrmEvent)) {
      expectExactlyOnePairRelaxed(Registry.registry, mutant, samples)
    }
  })

  it("each mutant of the task board's registry differs from it in its one pair and nowhere else", () => {
    const samples = samplesOf(Tasks.TaskEvent)
    for (const mutant of relaxations(Tasks.registry, Tasks.TaskEvent)) {
      expectExactlyOnePairRelaxed(Tasks.registry, mutant, samples)
    }
  })

  it("counts a type without a rule as conflicting with everything", () => {
    const registry = ConflictRegistry.make(Events.CrmEvent).pipe(ConflictRegistry.never("MeetingNoteAdded"))
    const mutants = relaxations(registry, Events.CrmEvent)
    expect(mutants).toHaveLength(5 * 6)
    expect(mutants.some((mutant) => mutant.proposed === "MeetingNoteAdded")).toBe(false)
    const samples = samplesOf(Events.CrmEvent)
    for (const mutant of mutants) expectExactlyOnePairRelaxed(registry, mutant, samples)
  })

  it("refuses a registry with predicate rules, which have no document", () => {
    const registry = ConflictRegistry.make(Events.CrmEvent).pipe(
      ConflictRegistry.conflictsWhen("ClientValueUpgraded", "ClientValueUpgraded", (p, c) => p.value <= c.value)
    )
    expect(() => relaxations(registry, Events.CrmEvent)).toThrow(/ClientValueUpgraded -> ClientValueUpgraded/)
  })
})
