import { ConflictRegistry } from "@concord/core"
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, FastCheck as fc, HashMap, Schema } from "effect"
import type { Shelf } from "./domains/Shelf.js"
import {
  Cleared,
  clearingPassesLocking,
  decideShelf,
  emptyShelf,
  evolveShelf,
  Locked,
  ShelfCommand,
  shelfDecider,
  ShelfEvent,
  ShelfIsLocked,
  shelfRegistry,
  Stocked,
  stockingsPass
} from "./domains/Shelf.js"

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

const shelfCommutation = (
  registry: ConflictRegistry.ConflictRegistry<ShelfEvent, any>,
  options: Partial<Laws.CommutationOptions<ShelfEvent, Shelf, ShelfCommand>> = {}
) =>
  Laws.commutation({
    registry,
    evolve: evolveShelf,
    initialState: emptyShelf,
    decider: shelfDecider,
    commands: ShelfCommand,
    run: { seed: 42 },
    ...options
  })

const shelfDecisions = (
  registry: ConflictRegistry.ConflictRegistry<ShelfEvent, any>,
  options: Partial<Laws.DecisionStabilityOptions<ShelfCommand, ShelfEvent, Shelf, unknown>> = {}
) =>
  Laws.decisionStability({
    registry,
    decider: shelfDecider,
    commands: ShelfCommand,
    run: { seed: 42 },
    ...options
  })

const sameItemRule = (proposed: string, committed: string) =>
  `${proposed} conflicts with ${committed} only when sameKey("item") holds, so the two pass each other whenever ` +
  "their item differs"

const shelfPairs = [
  { proposed: "Stocked", committed: "Stocked", rule: sameItemRule("Stocked", "Stocked") },
  { proposed: "Stocked", committed: "Cleared", rule: sameItemRule("Stocked", "Cleared") },
  { proposed: "Cleared", committed: "Stocked", rule: sameItemRule("Cleared", "Stocked") },
  { proposed: "Cleared", committed: "Cleared", rule: sameItemRule("Cleared", "Cleared") },
  {
    proposed: "Locked",
    committed: "Stocked",
    rule: "the rule for Locked does not list Stocked, so they never conflict"
  },
  {
    proposed: "Locked",
    committed: "Cleared",
    rule: "the rule for Locked does not list Cleared, so they never conflict"
  }
]

/** The violation a law fails with: a missing Schema is a defect here. */
const violationOf = (law: Effect.Effect<Laws.Report, Laws.LawViolation | Laws.MissingSchema>) =>
  law.pipe(Effect.catchTag("MissingSchema", (error) => Effect.die(error)), Effect.flip)

const pairsOf = (report: Laws.Report) => report.pairs.map((pair) => [pair.proposed, pair.committed])

describe("the laws' report", () => {
  it.effect("lists every allowed pair in the registry's order, with its rule, each on the cases of a pair", () =>
    Effect.gen(function*() {
      const report = yield* shelfCommutation(shelfRegistry)
      expect(report).toEqual({
        law: "commutation",
        seed: 42,
        casesPerPair: 100,
        pairs: shelfPairs.map((pair) => ({ ...pair, cases: 100 })),
        unreached: [],
        summary: "commutation: checked 6 allowed pairs, each on ≥ 100 cases (seed 42)"
      })
    }))

  it.effect("of decision stability counts the cases where the command succeeded and the registry let it pass", () =>
    Effect.gen(function*() {
      const report = yield* shelfDecisions(shelfRegistry)
      expect(report.law).toBe("decision stability")
      expect(report.pairs.map(({ cases: _, ...pair }) => pair)).toEqual(shelfPairs)
      expect(report.pairs.map((pair) => pair.cases)).toEqual([100, 100, 100, 100, 100, 100])
      expect(report.summary).toBe("decision stability: checked 6 allowed pairs, each on ≥ 100 cases (seed 42)")
    }))

  it.effect("shows a pair no case reaches, in unreached and in the summary", () =>
    Effect.gen(function*() {
      // Locking never succeeds: no decision produces Locked, so the pairs it proposes are never exercised.
      const neverLocks = {
        ...shelfDecider,
        decide: (command: ShelfCommand, shelf: Shelf) =>
          command._tag === "Lock" ? Effect.fail(new ShelfIsLocked()) : decideShelf(command, shelf)
      }
      const report = yield* shelfDecisions(shelfRegistry, { decider: neverLocks })
      expect(report.unreached).toEqual([
        { ...shelfPairs[4], cases: 0 },
        { ...shelfPairs[5], cases: 0 }
      ])
      expect(report.pairs.filter((pair) => pair.cases > 0).map((pair) => pair.proposed)).toEqual([
        "Stocked",
        "Stocked",
        "Cleared",
        "Cleared"
      ])
      expect(report.summary).toMatch(
        /^decision stability: checked 6 allowed pairs, 4 of them on ≥ \d+ cases \(seed 42\)/
      )
      expect(report.summary).toContain(
        "\n  never reached (no generated command producing the proposed type succeeded with the committed type behind " +
          "it): Locked → Stocked, Locked → Cleared"
      )
    }))
})

describe("a law violation", () => {
  it.effect("names the pair, the rule at fault and how to replay it", () =>
    Effect.gen(function*() {
      const violation = yield* violationOf(shelfCommutation(stockingsPass))
      expect(violation).toBeInstanceOf(Laws.LawViolation)
      expect(violation.law).toBe("commutation")
      expect(violation.seed).toBe(42)
      expect(violation.pair).toEqual({ proposed: "Stocked", committed: "Stocked" })
      expect(violation.rule).toBe("the rule for Stocked does not list Stocked, so they never conflict")
      expect(violation.message).toContain("rule at fault: the rule for Stocked does not list Stocked")
      expect(violation.message).toContain("run: { seed: 42 }")
      // The shrunk counterexample: the history, then a proposed and a committed stocking of one item, two counts.
      const [, proposed, committed] = violation.counterexample as [unknown, ShelfEvent, ShelfEvent]
      expect(proposed).toMatchObject({ _tag: "Stocked" })
      expect(committed).toMatchObject({ _tag: "Stocked", item: (proposed as typeof Stocked.Type).item })
      expect(committed).not.toEqual(proposed)
    }))

  it.effect("is replayed by its seed", () =>
    Effect.gen(function*() {
      // Unshrunk, so that the counterexample is the first failing case the seed draws, not a minimum any seed finds.
      const run = (seed: number) =>
        violationOf(shelfCommutation(stockingsPass, { run: { seed, endOnFailure: true }, maxHistory: 20 }))
      const first = yield* run(7)
      const again = yield* run(7)
      const other = yield* run(8)
      expect(again.counterexample).toEqual(first.counterexample)
      expect(again.description).toBe(first.description)
      expect(again.path).toBe(first.path)
      expect(other.counterexample).not.toEqual(first.counterexample)
    }))
})

describe("the laws' options", () => {
  it.effect("pairs: checks only the pairs named, in the registry's order, each as a full run does", () =>
    Effect.gen(function*() {
      const full = yield* shelfDecisions(shelfRegistry, { casesPerPair: 30 })
      const some = yield* shelfDecisions(shelfRegistry, {
        casesPerPair: 30,
        pairs: [["Locked", "Cleared"], ["Stocked", "Stocked"]]
      })
      expect(pairsOf(some)).toEqual([["Stocked", "Stocked"], ["Locked", "Cleared"]])
      expect(some.pairs).toEqual([full.pairs[0], full.pairs[5]])
      expect(some.summary).toMatch(/^decision stability: checked 2 allowed pairs/)
      // A pair left out is not checked: the broken one is the only one that fails.
      const unchecked = yield* shelfCommutation(stockingsPass, { pairs: [["Stocked", "Cleared"]] })
      expect(pairsOf(unchecked)).toEqual([["Stocked", "Cleared"]])
    }))

  it.effect("states: replaces the states the laws generate", () =>
    Effect.gen(function*() {
      const pairs = [["Cleared", "Locked"], ["Stocked", "Stocked"]] as const
      // From generated states, a clearing is decided on a stocked shelf, then the shelf is locked behind its back.
      const violation = yield* violationOf(shelfDecisions(clearingPassesLocking, { pairs }))
      expect(violation.pair).toEqual({ proposed: "Cleared", committed: "Locked" })
      // On an empty shelf nothing can be cleared: the bug is out of reach, and the report says so.
      const report = yield* shelfDecisions(clearingPassesLocking, { pairs, states: fc.constant(emptyShelf) })
      expect(report.pairs.map((pair) => [pair.proposed, pair.committed, pair.cases])).toEqual([
        ["Stocked", "Stocked", 100],
        ["Cleared", "Locked", 0]
      ])
    }))

  it.effect("casesPerPair and run.numRuns: the cases each pair is checked on", () =>
    Effect.gen(function*() {
      const seven = yield* shelfCommutation(shelfRegistry, { casesPerPair: 7 })
      expect(seven.casesPerPair).toBe(7)
      expect(seven.pairs.map((pair) => pair.cases)).toEqual([7, 7, 7, 7, 7, 7])
      expect(seven.summary).toBe("commutation: checked 6 allowed pairs, each on ≥ 7 cases (seed 42)")
      const nine = yield* shelfCommutation(shelfRegistry, { run: { seed: 42, numRuns: 9 } })
      expect(nine.pairs.map((pair) => pair.cases)).toEqual([9, 9, 9, 9, 9, 9])
      const both = yield* shelfCommutation(shelfRegistry, { casesPerPair: 7, run: { seed: 42, numRuns: 9 } })
      expect(both.casesPerPair).toBe(7)
    }))
})

// Walls are identified by UUIDs: two generated paintings almost never name the same wall, unless the wall is pooled.
const Wall = Schema.String.annotations({ arbitrary: () => (fc) => fc.uuid() })
const Painted = Schema.TaggedStruct("Painted", { wall: Wall, color: Schema.Literal("red", "blue") })
const Sealed = Schema.TaggedStruct("Sealed", {})
const PaintEvent = Schema.Union(Painted, Sealed)
type PaintEvent = typeof PaintEvent.Type

describe("the keys option", () => {
  // Two paintings of one wall overwrite each other, but this registry lets every painting pass: it should say sameKey.
  const registry = ConflictRegistry.make(PaintEvent).pipe(
    ConflictRegistry.never("Painted"),
    ConflictRegistry.always("Sealed"),
    ConflictRegistry.exhaustive
  )
  const paint = (keys?: ReadonlyArray<string>) =>
    Laws.commutation({
      registry,
      evolve: (walls: HashMap.HashMap<string, string>, event: PaintEvent) =>
        event._tag === "Painted" ? HashMap.set(walls, event.wall, event.color) : walls,
      initialState: HashMap.empty<string, string>(),
      keys,
      run: { seed: 42 }
    })

  it.effect("draws a field only it names from a small pool, so equal values occur", () =>
    Effect.gen(function*() {
      // The wall is a field of one type only and no rule names it: drawn freely, no two paintings share a wall.
      const unpooled = yield* paint()
      expect(unpooled.pairs[0]).toMatchObject({ proposed: "Painted", committed: "Painted", cases: 100 })
      const violation = yield* violationOf(paint(["wall"]))
      expect(violation.pair).toEqual({ proposed: "Painted", committed: "Painted" })
      const [, proposed, committed] = violation.counterexample as [unknown, typeof Painted.Type, typeof Painted.Type]
      expect(committed.wall).toBe(proposed.wall)
    }))
})

describe("the laws on Schemas of other shapes, and under a user's own settings", () => {
  // Every pair of the shelf let through: `never` for each type is wrong in several ways.
  const everythingPasses = (schema: Schema.Schema<ShelfEvent, any>) =>
    ConflictRegistry.make(schema).pipe(
      ConflictRegistry.never("Stocked"),
      ConflictRegistry.never("Cleared"),
      ConflictRegistry.never("Locked")
    )
  const commutationOn = (schema: Schema.Schema<ShelfEvent, any>, pairs?: ReadonlyArray<readonly [any, any]>) =>
    Laws.commutation({
      registry: everythingPasses(schema),
      evolve: evolveShelf,
      initialState: emptyShelf,
      run: { seed: 5 },
      ...(pairs === undefined ? {} : { pairs })
    })

  it.effect("a nested, refined or suspended union has all its types' pairs checked, not only the top level's", () =>
    Effect.gen(function*() {
      const shapes = [
        Schema.Union(Schema.Union(Stocked, Cleared), Locked),
        ShelfEvent.pipe(Schema.filter(() => true)),
        Schema.suspend(() => ShelfEvent),
        Schema.Union(Stocked, Cleared.pipe(Schema.filter((cleared) => cleared.item !== "plum")), Locked)
      ]
      for (const schema of shapes) {
        // Locked → Locked commutes, Stocked → Stocked does not: only a run that checks all nine pairs fails here.
        const held = yield* Effect.either(commutationOn(schema, [["Locked", "Locked"]]))
        expect(held._tag, String(schema)).toBe("Right")
        if (held._tag === "Right") expect(held.right.pairs).toHaveLength(1)
        const violation = yield* Effect.flip(commutationOn(schema))
        expect(violation._tag, String(schema)).toBe("LawViolation")
      }
    }))

  it.effect("a global fast-check configuration (a path, a time limit) does not cut a law's runs short", () =>
    Effect.gen(function*() {
      const previous = fc.readConfigureGlobal()
      // `path` is not a global setting by its type, but JavaScript callers can set it all the same.
      fc.configureGlobal(
        { ...previous, path: "3:0", interruptAfterTimeLimit: 1, endOnFailure: true } as fc.GlobalParameters
      )
      try {
        const violation = yield* Effect.flip(commutationOn(ShelfEvent))
        expect(violation._tag).toBe("LawViolation")
        const report = yield* Laws.commutation({
          registry: shelfRegistry,
          evolve: evolveShelf,
          initialState: emptyShelf,
          run: { seed: 5 }
        })
        expect(report.pairs.every((pair) => pair.cases === 100)).toBe(true)
      } finally {
        fc.configureGlobal(previous)
      }
    }))

  it.effect("a decider that waits on something asynchronous is a defect said plainly, not a law that holds", () =>
    Effect.gen(function*() {
      const asyncDecider = {
        ...shelfDecider,
        decide: (command: typeof ShelfCommand.Type, shelf: Shelf) =>
          Effect.promise(() => Promise.resolve(shelf)).pipe(Effect.zipRight(decideShelf(command, shelf)))
      }
      const exit = yield* Effect.exit(
        Laws.decisionStability({ registry: shelfRegistry, decider: asyncDecider, commands: ShelfCommand })
      )
      expect(exit._tag).toBe("Failure")
      if (exit._tag === "Failure") {
        expect(String(Cause.squash(exit.cause))).toContain("must not wait on anything asynchronous")
      }
    }))

  it.effect("pairs naming a pair the registry never lets through say so in the report", () =>
    Effect.gen(function*() {
      const report = yield* Laws.commutation({
        registry: shelfRegistry,
        evolve: evolveShelf,
        initialState: emptyShelf,
        pairs: [["Stocked", "Locked"]],
        run: { seed: 5 }
      })
      expect(report.pairs).toEqual([])
      expect(report.summary).toContain("named in pairs but never let through by the registry: Stocked → Locked")
    }))
})
