// Every single relaxation of a registry: the mutants a law must tell apart from the registry when they are harmful.
// Built through the registry's JSON document, so only declarative registries (lists, `all`, `never`, `sameKey`) have
// relaxations; a predicate rule makes `toDocument` fail, and so does this.
import { ConflictRegistry, Event } from "@concord/core"
import * as Either from "effect/Either"

export interface Relaxation<A extends Event.Tagged> {
  readonly proposed: string
  readonly committed: string
  readonly kind: "forbidden pair allowed" | "sameKey dropped"
  /** The `sameKey` field dropped, for that kind. */
  readonly field?: string
  readonly registry: ConflictRegistry.ConflictRegistry<A, any>
}

/** How a relaxation is named in tables and messages: `Proposed past Committed`, and the field a `sameKey` had. */
export const relaxationName = (relaxation: Pick<Relaxation<any>, "proposed" | "committed" | "field">): string =>
  `${relaxation.proposed} past ${relaxation.committed}` +
  (relaxation.field === undefined ? "" : ` (sameKey ${relaxation.field} dropped)`)

type Entries = "all" | ReadonlyArray<ConflictRegistry.DocumentEntry>

const entryType = (entry: ConflictRegistry.DocumentEntry): string => typeof entry === "string" ? entry : entry.type

/**
 * One mutant per pair of known types the registry forbids unconditionally (the pair is allowed, nothing else
 * changes) and one per `sameKey` condition (the pair is allowed whatever the payloads). A type without a rule counts
 * as `all`. An `all` relaxed for C becomes the list of every known type but C, which conflicts with the types the
 * registry does not know exactly as `all` did; a list emptied by the relaxation becomes `never`, which lets unknown
 * types through as well: the mutants differ from the registry only on known types.
 */
export const relaxations = <A extends Event.Tagged>(
  registry: ConflictRegistry.ConflictRegistry<A, any>,
  schema: Event.EventSchema<A>
): ReadonlyArray<Relaxation<A>> => {
  const document = Either.getOrThrowWith(ConflictRegistry.toDocument(registry), (error) => error)
  const known: ReadonlyArray<string> = Event.tags(schema)
  const ruleOf = (type: string): Entries => document.rules.find((rule) => rule.type === type)?.conflictsWith ?? "all"
  const withRule = (type: string, conflictsWith: Entries): ConflictRegistry.ConflictRegistry<A, any> => {
    const rules = document.rules.some((rule) => rule.type === type)
      ? document.rules.map((rule) => rule.type === type ? { type, conflictsWith } : rule)
      : [...document.rules, { type, conflictsWith }]
    return Either.getOrThrowWith(ConflictRegistry.fromDocument({ rules }, schema), (error) => error)
  }
  return known.flatMap((proposed): ReadonlyArray<Relaxation<A>> => {
    const rule = ruleOf(proposed)
    if (rule === "all") {
      return known.map((committed) => ({
        proposed,
        committed,
        kind: "forbidden pair allowed",
        registry: withRule(proposed, known.filter((type) => type !== committed))
      }))
    }
    return rule.flatMap((entry): ReadonlyArray<Relaxation<A>> => {
      const committed = entryType(entry)
      // A listed type the Schema does not declare is not a pair of known types.
      if (!known.includes(committed)) return []
      const registry = withRule(proposed, rule.filter((other) => other !== entry))
      return typeof entry === "string"
        ? [{ proposed, committed, kind: "forbidden pair allowed", registry }]
        : [{ proposed, committed, kind: "sameKey dropped", field: entry.sameKey, registry }]
    })
  })
}
