/**
 * Laws a domain's registry must obey, as property tests users run in their own suite. Passing them is what makes
 * accepting a stale write safe: the events the registry lets through commute, so no data is lost, and decisions the
 * registry lets through are the ones the current state would have produced.
 *
 * @since 0.1.0
 */
import { Conflict, ConflictRegistry, Event } from "@concord/core"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import type * as Equivalence from "effect/Equivalence"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Inspectable from "effect/Inspectable"
import * as Schema from "effect/Schema"

/**
 * Where a law's generated values come from: a Schema (its arbitrary is derived) or an arbitrary.
 *
 * @since 0.1.0
 * @category models
 */
export type Source<A> = Schema.Schema<A, any, never> | FastCheck.Arbitrary<A>

/**
 * How a law runs: fast-check's parameters (`numRuns`, `seed`, ...). Without them the global configuration applies.
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
  path: Schema.optional(Schema.String)
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.law} law violated: ${this.description}\n` +
      `(seed ${this.seed}${this.path === undefined ? "" : `, path "${this.path}"`}: ` +
      `replay with FastCheck.configureGlobal({ seed: ${this.seed}, path: "${this.path ?? ""}" }))`
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

const arbitrary = <A>(source: Source<A>): FastCheck.Arbitrary<A> =>
  Schema.isSchema(source) ? Arbitrary.make(source as Schema.Schema<A, any, never>) : source as FastCheck.Arbitrary<A>

const schemaOf = <A extends Event.Tagged>(
  law: string,
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  schema: Event.EventSchema<A> | undefined
): Effect.Effect<Event.EventSchema<A>, MissingSchema> => {
  const found = schema ?? registry.schema
  return found === undefined ? Effect.fail(new MissingSchema({ law })) : Effect.succeed(found)
}

const encoder = <A extends Event.Tagged>(schema: Event.EventSchema<A>) => {
  const encode = Event.encode(schema)
  return (event: A) => Effect.runSync(encode(event))
}

const committedAt = (encoded: ReadonlyArray<Conflict.Proposed>): ReadonlyArray<Conflict.Committed> =>
  encoded.map((event, i) => ({ ...event, id: Event.EventId.make(`committed-${i + 1}`), version: (i + 1) as any }))

const format = (value: unknown): string => JSON.stringify(Inspectable.toJSON(value)) ?? String(value)

const describeFailure = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error
    ? String(error._tag) + ("message" in error && error.message !== "" ? `: ${String(error.message)}` : "")
    : String(error)

const list = (events: ReadonlyArray<Event.Tagged>): string => events.map((event) => event._tag).join(", ")

const violation = <T>(
  law: string,
  details: FastCheck.RunDetails<T>,
  describe: (counterexample: T) => string
): LawViolation | undefined =>
  details.failed
    ? new LawViolation({
      law,
      description: details.counterexample === null
        ? String(details.errorInstance ?? "the property failed")
        : describe(details.counterexample),
      counterexample: details.counterexample,
      seed: details.seed,
      ...(details.counterexamplePath === null ? {} : { path: details.counterexamplePath })
    })
    : undefined

/**
 * @since 0.1.0
 * @category models
 */
export interface CommutationOptions<A extends Event.Tagged, State> {
  readonly registry: ConflictRegistry.ConflictRegistry<A, any>
  readonly evolve: (state: State, event: A) => State
  readonly initialState: State
  /** The events to generate (default: the registry's Schema). */
  readonly events?: Source<A> | undefined
  /** The events' Schema, when the registry was built without one. */
  readonly schema?: Event.EventSchema<A> | undefined
  /** How to compare two states (default: Effect's `Equal`). */
  readonly equivalence?: Equivalence.Equivalence<State> | undefined
  /** The longest history generated before the pair (default 8). */
  readonly maxHistory?: number | undefined
  readonly run?: RunOptions | undefined
}

/**
 * For any reachable state and any pair of events the registry lets through (proposed `u` does not conflict with
 * committed `c`), folding `c` then `u` gives the same state as `u` then `c`. Fails with a {@link LawViolation}
 * describing the shrunk counterexample, or with {@link MissingSchema} when it has no Schema to generate events from.
 *
 * @since 0.1.0
 * @category laws
 */
export const commutation = <A extends Event.Tagged, State>(
  options: CommutationOptions<A, State>
): Effect.Effect<void, LawViolation | MissingSchema> =>
  Effect.flatMap(schemaOf("commutation", options.registry, options.schema), (schema) => {
    const encode = encoder(schema)
    const events = arbitrary(options.events ?? schema)
    const equivalent = options.equivalence ?? Equal.equals
    const fold = (state: State, history: ReadonlyArray<A>) => history.reduce(options.evolve, state)
    const orders = (history: ReadonlyArray<A>, proposed: A, committed: A) => {
      const reached = fold(options.initialState, history)
      return {
        committedFirst: options.evolve(options.evolve(reached, committed), proposed),
        proposedFirst: options.evolve(options.evolve(reached, proposed), committed)
      }
    }
    const letThrough = (proposed: A, committed: A) =>
      !ConflictRegistry.isConflict(options.registry, encode(proposed), encode(committed))
    const property = FastCheck.property(
      FastCheck.array(events, { maxLength: options.maxHistory ?? 8 }),
      events,
      events,
      (history, proposed, committed) => {
        if (!letThrough(proposed, committed)) return true
        const { committedFirst, proposedFirst } = orders(history, proposed, committed)
        return equivalent(committedFirst, proposedFirst)
      }
    )
    return Effect.promise(() => Promise.resolve(FastCheck.check(property, options.run))).pipe(
      Effect.flatMap((details) => {
        const error = violation("commutation", details, ([history, proposed, committed]) => {
          const { committedFirst, proposedFirst } = orders(history, proposed, committed)
          return `the registry lets ${proposed._tag} pass ${committed._tag}, but the two orders give different ` +
            `states:\n  committed ${format(committed)}\n  proposed ${format(proposed)}\n` +
            `  after [${list(history)}]\n  committed then proposed: ${format(committedFirst)}\n` +
            `  proposed then committed: ${format(proposedFirst)}`
        })
        return error === undefined ? Effect.void : Effect.fail(error)
      })
    )
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface DecisionStabilityOptions<Command, A extends Event.Tagged, State, E> {
  readonly decider: {
    readonly initialState: State
    readonly evolve: (state: State, event: A) => State
    readonly decide: (command: Command, state: State) => Effect.Effect<ReadonlyArray<A>, E>
  }
  readonly registry: ConflictRegistry.ConflictRegistry<A, any>
  readonly commands: Source<Command>
  /** The events to generate (default: the registry's Schema). */
  readonly events?: Source<A> | undefined
  readonly schema?: Event.EventSchema<A> | undefined
  readonly maxHistory?: number | undefined
  /** The most events committed behind the writer's back (default 4). */
  readonly maxBehind?: number | undefined
  readonly run?: RunOptions | undefined
}

/**
 * A decision taken on a stale state and let through by the registry yields the same events as the decision taken on
 * the current state: accepting it breaks no invariant. Fails with a {@link LawViolation} naming the command, the
 * events and what the current state decides instead, or with {@link MissingSchema} when it has no Schema.
 *
 * @since 0.1.0
 * @category laws
 */
export const decisionStability = <Command, A extends Event.Tagged, State, E>(
  options: DecisionStabilityOptions<Command, A, State, E>
): Effect.Effect<void, LawViolation | MissingSchema> =>
  Effect.flatMap(schemaOf("decision stability", options.registry, options.schema), (schema) => {
    const encode = encoder(schema)
    const events = arbitrary(options.events ?? schema)
    const sameEvents = Schema.equivalence(Schema.Array(Schema.typeSchema(schema)))
    const { decider } = options
    const fold = (state: State, history: ReadonlyArray<A>) => history.reduce(decider.evolve, state)
    const decisions = (history: ReadonlyArray<A>, behind: ReadonlyArray<A>, command: Command) => {
      const stale = fold(decider.initialState, history)
      const staleDecision = Effect.runSyncExit(decider.decide(command, stale))
      if (Exit.isFailure(staleDecision) || staleDecision.value.length === 0) return undefined
      const proposed = staleDecision.value
      if (Conflict.hasConflict(options.registry, committedAt(behind.map(encode)), proposed.map(encode))) {
        return undefined
      }
      return { proposed, current: Effect.runSyncExit(decider.decide(command, fold(stale, behind))) }
    }
    const property = FastCheck.property(
      FastCheck.array(events, { maxLength: options.maxHistory ?? 8 }),
      FastCheck.array(events, { minLength: 1, maxLength: options.maxBehind ?? 4 }),
      arbitrary(options.commands),
      (history, behind, command) => {
        const outcome = decisions(history, behind, command)
        return outcome === undefined ||
          (Exit.isSuccess(outcome.current) && sameEvents(outcome.current.value, outcome.proposed))
      }
    )
    return Effect.promise(() => Promise.resolve(FastCheck.check(property, options.run))).pipe(
      Effect.flatMap((details) => {
        const error = violation("decision stability", details, ([history, behind, command]) => {
          const outcome = decisions(history, behind, command)!
          const current = Exit.isSuccess(outcome.current)
            ? `the events [${list(outcome.current.value)}]`
            : `the failure ${describeFailure(Cause.squash(outcome.current.cause))}`
          return `the registry lets [${list(outcome.proposed)}] pass [${list(behind)}], but the command ` +
            `${format(command)} decided on the current state gives ${current} instead of ` +
            `[${list(outcome.proposed)}]:\n  stale decision: ${format(outcome.proposed)}\n` +
            `  committed since: ${format(behind)}\n  after [${list(history)}]`
        })
        return error === undefined ? Effect.void : Effect.fail(error)
      })
    )
  })
