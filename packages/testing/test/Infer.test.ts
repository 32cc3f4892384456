import { ConflictRegistry, Decider } from "@concord/core"
import { Laws } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as Tasks from "./domains/Tasks.js"
import { relaxationName, relaxations } from "./support/relaxations.js"

const inferTasks = (seed: number) =>
  Laws.infer({
    decider: Tasks.decider,
    commands: Tasks.TaskCommand,
    schema: Tasks.TaskEvent,
    schemaName: "TaskEvent",
    run: { seed }
  })

// Inference on the task board takes seconds: each test reads the same one.
const inferred = Effect.runSync(Effect.cached(inferTasks(1)))

const documentOf = (registry: ConflictRegistry.ConflictRegistry<any, any>) =>
  Either.getOrThrow(ConflictRegistry.toDocument(registry))

/** A document's rules as a set of `proposed → committed[/sameKey]` entries, for comparisons that ignore order. */
const entries = (registry: ConflictRegistry.ConflictRegistry<any, any>) =>
  new Set(
    documentOf(registry).rules.flatMap((rule) =>
      rule.conflictsWith === "all"
        ? [`${rule.type} → all`]
        : rule.conflictsWith.length === 0
        ? [`${rule.type} → none`]
        : rule.conflictsWith.map((entry) =>
          typeof entry === "string" ? `${rule.type} → ${entry}` : `${rule.type} → ${entry.type} / ${entry.sameKey}`
        )
    )
  )

describe("Laws.infer on the task board", () => {
  it.live("gives exactly the hand-written registry: every pair's verdict agrees with it", () =>
    Effect.gen(function*() {
      const inference = yield* inferred
      expect(entries(inference.registry)).toEqual(entries(Tasks.registry))
      const comparison = Laws.compare(Tasks.registry, inference)
      expect(comparison.dangers).toEqual([])
      expect(comparison.lost).toEqual([])
      expect(comparison.summary).toMatch(/^0 pairs more permissive than the evidence, 0 stricter/)
    }), 60_000)

  it.live(
    "gives every refused pair its counterexample, every sameKey its refuted unconditional attempt",
    () =>
      Effect.gen(function*() {
        const inference = yield* inferred
        expect(inference.pairs).toHaveLength(81)
        for (const pair of inference.pairs) {
          const name = `${pair.proposed} → ${pair.committed}`
          if (pair.verdict._tag === "Allowed") {
            expect(pair.evidence, name).toBeUndefined()
            expect(pair.cases.decision, name).toBeGreaterThanOrEqual(10)
          } else {
            expect(pair.evidence, name).toBeInstanceOf(Laws.LawViolation)
            expect(pair.attempts[0]!.condition, name).toEqual({ _tag: "Unconditional" })
            expect(pair.attempts[0]!.evidence?.pair, name).toEqual({
              proposed: pair.proposed,
              committed: pair.committed
            })
          }
          const { verdict } = pair
          if (verdict._tag === "SameKey") {
            const keyed = pair.attempts.find((a) =>
              a.condition._tag === "SameKey" && a.condition.field === verdict.field
            )
            expect(keyed?.evidence, name).toBeUndefined()
            expect(keyed?.cases.decision, name).toBeGreaterThanOrEqual(10)
          }
        }
        expect(inference.report.split("\n")[0]).toBe(
          "inferred from up to 100 cases per law and pair (seed 1): 38 pairs never conflict, 32 conflict only on the " +
            "same key, 11 conflict"
        )
      }),
    60_000
  )

  it.live("writes a document and TypeScript source that give back the same registry", () =>
    Effect.gen(function*() {
      const inference = yield* inferred
      expect(inference.document).toEqual(documentOf(inference.registry))
      const read = Either.getOrThrow(ConflictRegistry.fromDocument(inference.document, Tasks.TaskEvent))
      expect(entries(read)).toEqual(entries(inference.registry))
      expect(inference.source).toMatch(/^export const registry = ConflictRegistry\.make\(TaskEvent\)\.pipe\(\n/)
      // More rules than one `pipe` takes: the source chains calls of at most 20 steps.
      expect(inference.source.match(/\.pipe\(/g)).toHaveLength(3)
      expect(inference.source).toContain("ConflictRegistry.exhaustive")
      const body = inference.source.replace("export const registry =", "return")
      const evaluated = new Function("ConflictRegistry", "TaskEvent", body)(ConflictRegistry, Tasks.TaskEvent)
      expect(entries(evaluated)).toEqual(entries(inference.registry))
    }), 60_000)

  it.live(
    "compare flags each harmful relaxation as a danger, with the counterexample against its rule",
    () =>
      Effect.gen(function*() {
        const inference = yield* inferred
        const mutants = relaxations(Tasks.registry, Tasks.TaskEvent)
        for (
          const name of ["TaskRenamed past TaskRenamed (sameKey taskId dropped)", "CommentPosted past BoardClosed"]
        ) {
          const mutant = mutants.find((m) => relaxationName(m) === name)!
          const comparison = Laws.compare(mutant.registry, inference)
          expect(comparison.dangers.map((d) => `${d.proposed} → ${d.committed}`), name).toEqual([
            `${mutant.proposed} → ${mutant.committed}`
          ])
          expect(comparison.dangers[0]!.evidence, name).toBeInstanceOf(Laws.LawViolation)
          expect(comparison.lost, name).toEqual([])
          expect(comparison.summary, name).toContain("danger:")
        }
      }),
    60_000
  )

  it.live("compare lists the acceptance a stricter registry loses", () =>
    Effect.gen(function*() {
      const inference = yield* inferred
      const stricter = Tasks.registry.pipe(ConflictRegistry.always("CommentPosted"))
      const comparison = Laws.compare(stricter, inference)
      expect(comparison.dangers).toEqual([])
      // A comment passes every type but BoardClosed, the deletion of its task and a comment of the same id.
      expect(comparison.lost.map((d) => d.committed)).toEqual([
        "TaskCreated",
        "TaskRenamed",
        "TaskAssigned",
        "TaskUnassigned",
        "TaskCompleted",
        "TaskReopened",
        "TaskDeleted",
        "CommentPosted"
      ])
      expect(comparison.lost.find((d) => d.committed === "TaskDeleted")?.inferred).toEqual({
        _tag: "SameKey",
        field: "taskId"
      })
    }), 60_000)
})

describe("Laws.infer on a small domain", () => {
  const Bumped = Schema.TaggedStruct("Bumped", { counter: Schema.Literal("a", "b") })
  const Reset = Schema.TaggedStruct("Reset", { counter: Schema.Literal("a", "b") })
  const Sealed = Schema.TaggedStruct("Sealed", {})
  const Event = Schema.Union(Bumped, Reset, Sealed)
  type Event = typeof Event.Type
  const Bump = Schema.TaggedStruct("Bump", { counter: Schema.Literal("a", "b") })
  const ResetIt = Schema.TaggedStruct("ResetIt", { counter: Schema.Literal("a", "b") })
  type State = { readonly a: number; readonly b: number; readonly sealed: boolean }
  const decider = Decider.make({
    initialState: { a: 0, b: 0, sealed: false } as State,
    evolve: (state: State, event: Event): State =>
      event._tag === "Bumped"
        ? { ...state, [event.counter]: state[event.counter] + 1 }
        : event._tag === "Reset"
        ? { ...state, [event.counter]: 0 }
        : { ...state, sealed: true },
    // Nothing ever seals: no command produces Sealed.
    decide: (
      command: typeof Bump.Type | typeof ResetIt.Type,
      state: State
    ): Effect.Effect<ReadonlyArray<Event>, "sealed"> =>
      state.sealed
        ? Effect.fail("sealed" as const)
        : Effect.succeed([
          command._tag === "Bump" ? Bumped.make({ counter: command.counter }) : Reset.make({ counter: command.counter })
        ])
  })
  const infer = (seed: number) =>
    Laws.infer({
      decider,
      commands: Schema.Union(Bump, ResetIt),
      schema: Event,
      // Counters are compared by value: a plain object state needs a structural equivalence.
      equivalence: (x, y) => x.a === y.a && x.b === y.b && x.sealed === y.sealed,
      run: { seed }
    })

  it.effect("bumps commute; a reset and a bump of the same counter do not; a type no command produces is refused", () =>
    Effect.gen(function*() {
      const inference = yield* infer(7)
      const verdict = (proposed: string, committed: string) =>
        inference.pairs.find((p) => p.proposed === proposed && p.committed === committed)!
      expect(verdict("Bumped", "Bumped").verdict).toEqual({ _tag: "Allowed" })
      expect(verdict("Bumped", "Reset").verdict).toEqual({ _tag: "SameKey", field: "counter" })
      expect(verdict("Reset", "Bumped").verdict).toEqual({ _tag: "SameKey", field: "counter" })
      expect(verdict("Reset", "Reset").verdict).toEqual({ _tag: "Allowed" })
      // Bumping after a seal fails: the commands' decisions are not stable past a Sealed.
      expect(verdict("Bumped", "Sealed").verdict).toEqual({ _tag: "Conflict" })
      // No command produces a Sealed, so no case proposes one: no evidence, a conflict.
      const sealed = verdict("Sealed", "Bumped")
      expect(sealed.verdict).toEqual({ _tag: "Conflict" })
      expect(sealed.evidence).toBeUndefined()
      expect(sealed.reason).toMatch(/^no evidence: only 0 decision cases/)
      expect(inference.source).toContain(`ConflictRegistry.always("Sealed")`)
    }))

  it.effect("the same seed infers the same registry", () =>
    Effect.gen(function*() {
      const [first, second] = yield* Effect.all([infer(3), infer(3)])
      expect(second.document).toEqual(first.document)
      expect(second.report).toBe(first.report)
    }))
})
