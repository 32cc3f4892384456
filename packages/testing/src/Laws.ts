/**
 * Laws a domain's registry must obey, as property tests users run in their own suite. Passing them is what makes
 * accepting a stale write safe: the events the registry lets through commute, so no data is lost, and decisions the
 * registry lets through are the ones the current state would have produced.
 *
 * @since 0.1.0
 */
import type { ConflictRegistry, Event } from "@concord/core"
import * as Effect from "effect/Effect"
import type * as Equivalence from "effect/Equivalence"
import type * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as internalInference from "./internal/laws/inference.js"
import * as internal from "./internal/laws/laws.js"

/**
 * Where a law's generated values come from: a Schema (its arbitrary is derived) or an arbitrary.
 *
 * @since 0.1.0
 * @category models
 */
export type Source<A> = Schema.Schema<A, any, never> | FastCheck.Arbitrary<A>

/**
 * How a law runs: fast-check's parameters. `seed` replays a run (every pair's cases derive from it); `numRuns`, when
 * given, is the number of cases per pair (see `casesPerPair`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunOptions = FastCheck.Parameters<any>

/**
 * A law does not hold: what was violated, in words, with the shrunk counterexample and the seed that replays it.
 *
 * @since 0.1.0
 * @category errors
 */
export class LawViolation extends Schema.TaggedError<LawViolation>()("LawViolation", {
  law: Schema.String,
  description: Schema.String,
  counterexample: Schema.Unknown,
  seed: Schema.Number,
  path: Schema.optional(Schema.String),
  /** The allowed pair whose cases failed: the proposed type and the committed type. */
  pair: Schema.optional(Schema.Struct({ proposed: Schema.String, committed: Schema.String })),
  /** The registry's rule that lets the pair through, in words. */
  rule: Schema.optional(Schema.String)
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.law} law violated: ${this.description}\n` +
      (this.rule === undefined ? "" : `rule at fault: ${this.rule}\n`) +
      `(seed ${this.seed}: replay this run with the law's option run: { seed: ${this.seed} })`
  }
}

/**
 * A law was given no Schema for the events: the registry was built without one (`untyped()`, or `fromDocument`
 * without the domain's Schema) and the options name none, so there is nothing to generate events from or to encode
 * them with.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingSchema extends Schema.TaggedError<MissingSchema>()("MissingSchema", {
  law: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the ${this.law} law needs the events' Schema: build the registry with ConflictRegistry.make(schema) or ` +
      "pass the schema option"
  }
}

/**
 * One pair of types a registry lets through, with the rule that lets it through and how many generated cases
 * exercised it (for decision stability: cases where the command succeeded and the registry let its events pass).
 *
 * @since 0.2.0
 * @category models
 */
export interface PairCoverage {
  readonly proposed: string
  readonly committed: string
  readonly rule: string
  readonly cases: number
}

/**
 * What a law checked when it held: every allowed pair with its number of cases, the pairs no case exercised (the law
 * says nothing about them), the seed that replays the run, and a summary in words.
 *
 * @since 0.2.0
 * @category models
 */
export interface Report {
  readonly law: string
  readonly seed: number
  readonly casesPerPair: number
  readonly pairs: ReadonlyArray<PairCoverage>
  readonly unreached: ReadonlyArray<PairCoverage>
  readonly summary: string
}

/**
 * What both laws take besides the domain.
 *
 * @since 0.2.0
 * @category models
 */
export interface CommonOptions<A extends Event.Tagged, State> {
  readonly registry: ConflictRegistry.ConflictRegistry<A, any>
  /** The events to generate (default: the registry's Schema). */
  readonly events?: Source<A> | undefined
  /** The events' Schema, when the registry was built without one. */
  readonly schema?: Event.EventSchema<A> | undefined
  /** States to start from, instead of the ones the laws generate (reachable ones, and folded arbitrary events). */
  readonly states?: Source<State> | undefined
  /**
   * Fields to draw from a few values per case, so that equal and different keys both occur often. Always drawn so:
   * every `sameKey` field of the registry and every field two or more event or command types share.
   */
  readonly keys?: ReadonlyArray<string> | undefined
  /** The longest history generated before a case (default 8). */
  readonly maxHistory?: number | undefined
  /**
   * Only these allowed pairs, as `[proposed, committed]` (default: every pair the registry lets through). Each pair's
   * cases depend only on the seed and the pair, so a run of one pair checks it exactly as a full run does: the quick
   * way to replay a violation.
   */
  readonly pairs?: ReadonlyArray<readonly [proposed: Event.Tag<A>, committed: Event.Tag<A>]> | undefined
  /** The cases each allowed pair is checked on (default 100, or `run.numRuns`). */
  readonly casesPerPair?: number | undefined
  readonly run?: RunOptions | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CommutationOptions<A extends Event.Tagged, State, Command = never> extends CommonOptions<A, State> {
  readonly evolve: (state: State, event: A) => State
  readonly initialState: State
  /** How to compare two states (default: Effect's `Equal`). */
  readonly equivalence?: Equivalence.Equivalence<State> | undefined
  /** With `commands`, states are mostly reached by running the decider on generated commands. */
  readonly decider?: {
    readonly decide: (command: Command, state: State) => Effect.Effect<ReadonlyArray<A>, unknown>
  } | undefined
  readonly commands?: Source<Command> | undefined
}

/**
 * For every pair of types the registry lets through (proposed `u` does not conflict with committed `c`), on its own
 * share of the cases: from a reachable state, folding `c` then `u` gives the same state as `u` then `c`. Succeeds
 * with a {@link Report} of what it covered; fails with a {@link LawViolation} naming the pair, the rule at fault and
 * the shrunk counterexample, or with {@link MissingSchema} when it has no Schema to generate events from.
 *
 * @since 0.1.0
 * @category laws
 */
export const commutation = <A extends Event.Tagged, State, Command = never>(
  options: CommutationOptions<A, State, Command>
): Effect.Effect<Report, LawViolation | MissingSchema> =>
  Effect.flatMap(
    schemaOf("commutation", options.registry, options.schema),
    (schema) =>
      Effect.suspend(() =>
        outcome(internal.withoutStackTraces(() =>
          internal.commutation({
            ...internal.setupOptions(schema, options, {
              initialState: options.initialState,
              evolve: options.evolve,
              decide: options.decider?.decide
            }),
            registry: options.registry,
            pairs: options.pairs
          })
        ))
      )
  )

/**
 * @since 0.1.0
 * @category models
 */
export interface DecisionStabilityOptions<Command, A extends Event.Tagged, State, E> extends CommonOptions<A, State> {
  readonly decider: {
    readonly initialState: State
    readonly evolve: (state: State, event: A) => State
    readonly decide: (command: Command, state: State) => Effect.Effect<ReadonlyArray<A>, E>
  }
  readonly commands: Source<Command>
  /** The most commands (or events) committed behind the writer's back (default 4). */
  readonly maxBehind?: number | undefined
}

/**
 * A decision taken on a stale state and let through by the registry yields the same events as the decision taken on
 * the current state: accepting it breaks no invariant. Each pair the registry lets through gets its own share of the
 * cases: a command that produces the proposed type, decided on a reachable state, while other commands commit the
 * committed type behind its back. Succeeds with a {@link Report}; fails with a {@link LawViolation} naming the
 * command, the events, the pair, the rule at fault and what the current state decides instead, or with
 * {@link MissingSchema}.
 *
 * @since 0.1.0
 * @category laws
 */
export const decisionStability = <Command, A extends Event.Tagged, State, E>(
  options: DecisionStabilityOptions<Command, A, State, E>
): Effect.Effect<Report, LawViolation | MissingSchema> =>
  Effect.flatMap(
    schemaOf("decision stability", options.registry, options.schema),
    (schema) =>
      Effect.suspend(() =>
        outcome(internal.withoutStackTraces(() =>
          internal.decisionStability({
            ...internal.setupOptions(schema, options as any, options.decider),
            registry: options.registry,
            pairs: options.pairs
          })
        ))
      )
  )

const schemaOf = <A extends Event.Tagged>(
  law: string,
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  schema: Event.EventSchema<A> | undefined
): Effect.Effect<Event.EventSchema<A>, MissingSchema> => {
  const found = schema ?? registry.schema
  return found === undefined ? Effect.fail(new MissingSchema({ law })) : Effect.succeed(found)
}

const outcome = (result: internal.Outcome): Effect.Effect<Report, LawViolation> =>
  result._tag === "Held" ? Effect.succeed(result.report) : Effect.fail(new LawViolation(result.failure))

/**
 * What the evidence supports for one ordered pair of types: the proposed type never conflicts with the committed
 * one, conflicts only when a shared field is equal, or conflicts.
 *
 * @since 0.2.0
 * @category inference
 */
export type Verdict =
  | { readonly _tag: "Allowed" }
  | { readonly _tag: "SameKey"; readonly field: string }
  | { readonly _tag: "Conflict" }

/**
 * One rule inference tried on a pair, with its cases and, when a law refuted it, the counterexample.
 *
 * @since 0.2.0
 * @category inference
 */
export interface Attempt {
  readonly condition: { readonly _tag: "Unconditional" } | { readonly _tag: "SameKey"; readonly field: string }
  readonly cases: { readonly commutation: number; readonly decision: number }
  readonly evidence: LawViolation | undefined
}

/**
 * One pair's verdict: why, the cases behind it, every rule tried, and the counterexample that refused a more
 * permissive rule.
 *
 * @since 0.2.0
 * @category inference
 */
export interface InferredPair {
  readonly proposed: string
  readonly committed: string
  readonly verdict: Verdict
  readonly reason: string
  /** The cases of the rule the verdict keeps (for a conflict: of letting the pair through unconditionally). */
  readonly cases: { readonly commutation: number; readonly decision: number }
  /** Why a more permissive rule was refused: the last counterexample found. */
  readonly evidence: LawViolation | undefined
  /** Every rule tried, most permissive first. */
  readonly attempts: ReadonlyArray<Attempt>
}

/**
 * An inferred registry: the value, its JSON document, TypeScript source to paste, every pair's verdict, a report in
 * words and the seed that replays it.
 *
 * @since 0.2.0
 * @category inference
 */
export interface Inference<A extends Event.Tagged> {
  readonly registry: ConflictRegistry.ConflictRegistry<A, string>
  readonly document: ConflictRegistry.RegistryDocument
  readonly source: string
  readonly pairs: ReadonlyArray<InferredPair>
  readonly report: string
  readonly seed: number
}

/**
 * @since 0.2.0
 * @category inference
 */
export interface InferOptions<Command, A extends Event.Tagged, State, E>
  extends Omit<CommonOptions<A, State>, "registry" | "pairs" | "schema">
{
  readonly decider: DecisionStabilityOptions<Command, A, State, E>["decider"]
  readonly commands: Source<Command>
  readonly schema: Event.EventSchema<A>
  readonly equivalence?: Equivalence.Equivalence<State> | undefined
  /** The name the TypeScript source gives the events' Schema (default `"Events"`). */
  readonly schemaName?: string | undefined
}

/**
 * The most permissive registry the evidence supports. Each ordered pair of types is checked with both laws as if
 * the registry let it through: a pair that never fails is allowed; one that fails, but never when a shared field
 * differs, gets `sameKey(field)`; any other pair conflicts, with its counterexample, as does a pair no case reached
 * (no evidence supports it). The registry the verdicts make is then checked as a whole, and a pair that fails there
 * conflicts too. The same seed infers the same registry.
 *
 * @since 0.2.0
 * @category inference
 */
export const infer = <Command, A extends Event.Tagged, State, E>(
  options: InferOptions<Command, A, State, E>
): Effect.Effect<Inference<A>> =>
  Effect.sync(() => internalInference.infer(options, (failure) => new LawViolation(failure)))

/**
 * A pair where a registry and an inference differ: what the registry does, what the evidence supports, and the
 * counterexample against the registry's rule when there is one.
 *
 * @since 0.2.0
 * @category inference
 */
export interface Difference {
  readonly proposed: string
  readonly committed: string
  readonly registry: string
  readonly inferred: Verdict
  readonly evidence: LawViolation | undefined
  readonly reason: string
}

/**
 * How a registry compares with an inference: `dangers` (it lets through what the evidence refuses), `lost` (it
 * refuses what the evidence lets through: acceptance lost), `unjudged` (predicate rules), and a summary.
 *
 * @since 0.2.0
 * @category inference
 */
export interface Comparison {
  readonly dangers: ReadonlyArray<Difference>
  readonly lost: ReadonlyArray<Difference>
  readonly unjudged: ReadonlyArray<Difference>
  readonly summary: string
}

/**
 * Compares a hand-written registry with an inference of the same domain, pair by pair.
 *
 * @since 0.2.0
 * @category inference
 */
export const compare = <A extends Event.Tagged>(
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  inference: Inference<A>
): Comparison => internalInference.compare(registry, inference)
