// The pairs a registry lets through, each with the rule that lets it through: what pair-directed checking gives its
// own share of the run budget, and what a violation names as the rule at fault.
import type { ConflictRegistry } from "@concord/core"

/** How a registry lets a proposed type pass a committed type. */
export type Passage =
  | { readonly _tag: "Unlisted" }
  | { readonly _tag: "SameKey"; readonly field: string }
  | { readonly _tag: "When" }

/** A (proposed type, committed type) pair that a registry lets through, at least under some payloads. */
export interface AllowedPair {
  readonly proposed: string
  readonly committed: string
  readonly passage: Passage
}

/** How the registry treats one pair of known types: its passage, or undefined when it always conflicts. */
export const passageOf = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  proposed: string,
  committed: string
): Passage | undefined => {
  const rule = registry.rules.get(proposed)
  if (rule === undefined || rule._tag === "All") return undefined
  const condition = rule.committed.get(committed)
  if (condition === undefined) return { _tag: "Unlisted" }
  switch (condition._tag) {
    case "Always":
      return undefined
    case "SameKey":
      return { _tag: "SameKey", field: condition.field }
    case "When":
      return { _tag: "When" }
  }
}

/** Every pair of the domain's types the registry lets through, in the order of the types. */
export const allowedPairs = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  tags: ReadonlyArray<string>
): ReadonlyArray<AllowedPair> =>
  tags.flatMap((proposed) =>
    tags.flatMap((committed) => {
      const passage = passageOf(registry, proposed, committed)
      return passage === undefined ? [] : [{ proposed, committed, passage }]
    })
  )

/** The rule that lets a pair through, in words. */
export const describeRule = (pair: AllowedPair): string => {
  switch (pair.passage._tag) {
    case "Unlisted":
      return `the rule for ${pair.proposed} does not list ${pair.committed}, so they never conflict`
    case "SameKey":
      return `${pair.proposed} conflicts with ${pair.committed} only when sameKey("${pair.passage.field}") holds, ` +
        `so the two pass each other whenever their ${pair.passage.field} differs`
    case "When":
      return `${pair.proposed} conflicts with ${pair.committed} only when its predicate holds`
  }
}

/** The pair in short: `Proposed → Committed`, with its condition. */
export const pairName = (pair: Pick<AllowedPair, "proposed" | "committed"> & { readonly passage?: Passage }) =>
  `${pair.proposed} → ${pair.committed}` +
  (pair.passage?._tag === "SameKey"
    ? ` (unless same ${pair.passage.field})`
    : pair.passage?._tag === "When"
    ? " (unless its predicate holds)"
    : "")

/** The `sameKey` fields a registry names: what the laws draw from small pools. */
export const sameKeyFields = (registry: ConflictRegistry.ConflictRegistry<any, any>): ReadonlySet<string> => {
  const fields = new Set<string>()
  for (const rule of registry.rules.values()) {
    if (rule._tag === "All") continue
    for (const condition of rule.committed.values()) if (condition._tag === "SameKey") fields.add(condition.field)
  }
  return fields
}

/** A failure's description in one line: its first, without the colon that introduces the details. */
export const firstLine = (description: string): string => description.split("\n")[0]!.replace(/:$/, "")
