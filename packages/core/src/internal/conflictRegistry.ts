// A registry as data: its rules, keyed by proposed type, and the builder's steps over them. Checking pairs is the
// compiled index's concern (compiledRegistry.ts), the JSON document's form its own (registryDocument.ts).
import { format, NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import type * as Api from "../ConflictRegistry.js"
import type { Condition, ConflictRegistry, PayloadCondition, Rule } from "../ConflictRegistry.js"
import type { EventSchema, Tagged } from "../Event.js"

/** @internal */
export const TypeId: typeof Api.TypeId = Symbol.for("@concord/core/ConflictRegistry") as typeof Api.TypeId

/** @internal */
export const all: { readonly _tag: "All" } = { _tag: "All" }

/** @internal */
export const always: Condition = { _tag: "Always" }

/** @internal */
export const listed = (committed: ReadonlyMap<string, Condition>): Rule => ({ _tag: "Listed", committed })

/** @internal */
export const condition = (payload: PayloadCondition<any, any>): Condition =>
  typeof payload === "function" ? { _tag: "When", predicate: payload } : payload

/** @internal */
export const flip = (payload: PayloadCondition<any, any>): PayloadCondition<any, any> =>
  typeof payload === "function" ? (proposed: unknown, committed: unknown) => payload(committed, proposed) : payload

/** The `_id` of a registry's debug form (its `toJSON()`), which is not its document. @internal */
export const debugId = "ConflictRegistry"

const Proto = {
  [TypeId]: { _A: (a: unknown) => a, _Declared: (a: never) => a },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: ConflictRegistry<any, any>) {
    return {
      _id: debugId,
      rules: Array.from(this.rules, ([type, rule]) => ({
        type,
        conflictsWith: rule._tag === "All"
          ? "all"
          : Array.from(rule.committed, ([committed, when]) => ({ type: committed, when: when._tag }))
      }))
    }
  },
  toString(this: ConflictRegistry<any, any>) {
    return format(this.toJSON())
  },
  [NodeInspectSymbol](this: ConflictRegistry<any, any>) {
    return this.toJSON()
  }
}

/** @internal */
export const make = <A extends Tagged, D extends string>(
  schema: EventSchema<A> | undefined,
  rules: ReadonlyMap<string, Rule>
): ConflictRegistry<A, D> => {
  const registry = Object.create(Proto)
  registry.schema = schema
  registry.rules = rules
  return registry
}

/** @internal */
export const setRule = <A extends Tagged>(
  self: ConflictRegistry<A, string>,
  proposed: string,
  rule: Rule
): ConflictRegistry<A, any> => make(self.schema, new Map(self.rules).set(proposed, rule))

/** @internal */
export const addPairs = <A extends Tagged>(
  self: ConflictRegistry<A, string>,
  proposed: string,
  committed: ReadonlyArray<string>,
  when: Condition
): ConflictRegistry<A, any> => {
  const previous = self.rules.get(proposed)
  // An explicit `always` already conflicts with every listed pair: listing types must not narrow it away silently.
  if (previous?._tag === "All") return self
  // A type with no rule starts its list afresh: listing types is how the default is narrowed.
  const pairs = new Map(previous?._tag === "Listed" ? previous.committed : undefined)
  for (const type of committed) pairs.set(type, when)
  return setRule(self, proposed, listed(pairs))
}
