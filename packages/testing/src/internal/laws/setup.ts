// From a law's options to what its pair checks need: the domain's shapes, the key fields, the budget and the seed.
import type { Conflict, ConflictRegistry } from "@concord/core"
import { Event } from "@concord/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import type * as Equivalence from "effect/Equivalence"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type { Domain } from "./cases.js"
import { drawBank } from "./cases.js"
import { lawSeed, pairSeed } from "./check.js"
import type { Shape, Source } from "./domain.js"
import { encodesAsItself, isolated, keyFields, pools, shapeOf } from "./domain.js"
import type { Setup } from "./pairChecks.js"
import { sameKeyFields } from "./pairs.js"

/** The default number of cases each allowed pair is checked on. */
export const defaultCasesPerPair = 100

/** How many draws a case may take before a pair's check gives up on finding more that exercise it. */
export const defaultMaxSkipsPerCase = 20

/** What a law was given, in the shape every law shares. */
export interface SetupOptions<A extends Event.Tagged, State, Command> {
  readonly registry: ConflictRegistry.ConflictRegistry<A, any> | undefined
  readonly schema: Event.EventSchema<A>
  readonly events: Source<A> | undefined
  readonly evolve: (state: State, event: A) => State
  readonly initialState: State
  readonly decide: ((command: Command, state: State) => Effect.Effect<ReadonlyArray<A>, unknown>) | undefined
  readonly commands: Source<Command> | undefined
  readonly states: Source<State> | undefined
  readonly keys: ReadonlyArray<string> | undefined
  readonly equivalence: Equivalence.Equivalence<State> | undefined
  readonly maxHistory: number | undefined
  readonly maxBehind: number | undefined
  readonly casesPerPair: number | undefined
  readonly run: FastCheck.Parameters<any> | undefined
}

/**
 * Runs a decision synchronously. A decider that needs to wait (an async effect) cannot be run by the laws: every
 * decision would look like a failed command and every pair would go unchecked, so that is a defect, said plainly.
 */
const decideNow = <A>(decision: Effect.Effect<ReadonlyArray<A>, unknown>) => {
  const exit = Effect.runSyncExit(decision)
  if (Exit.isFailure(exit) && Cause.isDie(exit.cause) && Runtime.isAsyncFiberException(Cause.squash(exit.cause))) {
    throw new Error("the laws run the decider synchronously: its decide must not wait on anything asynchronous")
  }
  return exit
}

/** The domain's event tags, in the order its Schema declares them. */
export const tagsOf = (schema: Event.EventSchema<any>): ReadonlyArray<string> => Event.tags(schema)

/** Builds the setup of a law run. */
export const makeSetup = <A extends Event.Tagged, State, Command>(
  options: SetupOptions<A, State, Command>
): Setup<A, State, Command> & { readonly commands: Shape<Command> | undefined } => {
  const events = shapeOf(options.events ?? (options.schema as Source<A>))
  const schemaShape = shapeOf(options.schema as Source<A>)
  // The Schema's members where the events source has none of its own for a type (a narrower `events` Schema, or an
  // arbitrary): a type's events are then drawn from the Schema rather than filtered out of the source forever.
  const withMembers: Shape<A> = { ...events, members: new Map([...schemaShape.members, ...events.members]) }
  const commands = options.commands === undefined ? undefined : shapeOf(options.commands)
  const named = [...(options.registry === undefined ? [] : sameKeyFields(options.registry)), ...(options.keys ?? [])]
  const keys = keyFields([withMembers, ...(commands === undefined ? [] : [commands])] as Array<Shape<unknown>>, named)
  const decide = options.decide
  const seed = lawSeed(options.run)
  const domain: Domain<A, State, Command> = {
    events: withMembers,
    commands,
    keys,
    initialState: options.initialState,
    evolve: options.evolve,
    decide: decide === undefined ? undefined : (command, state) => decideNow(decide(command, state)),
    states: options.states === undefined ? undefined : shapeOf(options.states).arbitrary,
    maxHistory: options.maxHistory ?? 8,
    maxBehind: options.maxBehind ?? 4,
    pool: FastCheck.sample(pools(keys), { ...isolated, seed: pairSeed(seed, "pool"), numRuns: 1 })[0]!,
    bank: undefined
  }

  const encodeWithSchema = Event.encode(options.schema)
  const encode = encodesAsItself(options.schema.ast)
    ? (event: A): Conflict.Proposed => {
      const { _tag, ...data } = event
      return { type: _tag, data }
    }
    : (event: A): Conflict.Proposed => Effect.runSync(encodeWithSchema(event))
  return {
    domain: { ...domain, bank: drawBank(domain, pairSeed(seed, "states")) },
    commands,
    encode,
    equivalence: options.equivalence ?? Equal.equals,
    sameEvents: Schema.equivalence(Schema.Array(Schema.typeSchema(options.schema))),
    budget: {
      casesPerPair: options.casesPerPair ?? options.run?.numRuns ?? defaultCasesPerPair,
      maxSkipsPerCase: defaultMaxSkipsPerCase,
      seed,
      parameters: options.run ?? {}
    }
  }
}
