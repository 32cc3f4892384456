// An inferred registry in the forms a user takes away: TypeScript to paste, and a report of every pair's verdict.
import type { InferredPair, Verdict } from "./infer.js"

/** How many steps one `pipe` call takes. */
const pipeArity = 20

const quote = (s: string) => JSON.stringify(s)

/** The widest line the source writes, as the project's formatter does; longer lists go one type per line. */
const lineWidth = 120

const conflicts = (proposed: string, committed: ReadonlyArray<string>): string => {
  const inline = `ConflictRegistry.conflicts(${quote(proposed)}, [${committed.map(quote).join(", ")}])`
  return inline.length + 2 <= lineWidth
    ? inline
    : `ConflictRegistry.conflicts(${quote(proposed)}, [\n${
      committed.map((type) => `    ${quote(type)}`).join(",\n")
    }\n  ])`
}

/** The builder steps of the rules the verdicts make, one per line. */
const steps = (tags: ReadonlyArray<string>, pairs: ReadonlyArray<InferredPair>): ReadonlyArray<string> =>
  tags.flatMap((proposed) => {
    const row = pairs.filter((pair) => pair.proposed === proposed)
    const conflicting = row.filter((pair) => pair.verdict._tag === "Conflict").map((pair) => pair.committed)
    const keyed = row.flatMap((pair) =>
      pair.verdict._tag === "SameKey" ? [[pair.committed, pair.verdict.field] as const] : []
    )
    if (conflicting.length === tags.length) return [`ConflictRegistry.always(${quote(proposed)})`]
    if (conflicting.length === 0 && keyed.length === 0) return [`ConflictRegistry.never(${quote(proposed)})`]
    return [
      ...(conflicting.length === 0 ? [] : [conflicts(proposed, conflicting)]),
      ...keyed.map(([committed, field]) => {
        const inline = `ConflictRegistry.conflictsWhen(${quote(proposed)}, ${quote(committed)}, ` +
          `ConflictRegistry.sameKey(${quote(field)}))`
        return inline.length + 2 <= lineWidth ?
          inline :
          `ConflictRegistry.conflictsWhen(\n    ${quote(proposed)},\n    ` +
          `${quote(committed)},\n    ConflictRegistry.sameKey(${quote(field)})\n  )`
      })
    ]
  })

/**
 * TypeScript source for the registry: `ConflictRegistry.make(<schema>)` piped through its rules and `exhaustive`,
 * in `pipe` calls of at most 20 steps.
 */
export const source = (schemaName: string, tags: ReadonlyArray<string>, pairs: ReadonlyArray<InferredPair>): string => {
  const all = [...steps(tags, pairs), "ConflictRegistry.exhaustive"]
  const calls: Array<string> = []
  for (let i = 0; i < all.length; i += pipeArity) {
    calls.push(`.pipe(\n${all.slice(i, i + pipeArity).map((step) => `  ${step}`).join(",\n")}\n)`)
  }
  return `export const registry = ConflictRegistry.make(${schemaName})${calls.join("")}\n`
}

/** A verdict in words. */
export const describeVerdict = (verdict: Verdict): string =>
  verdict._tag === "Allowed"
    ? "never conflicts"
    : verdict._tag === "SameKey"
    ? `conflicts only when ${verdict.field} is the same`
    : "conflicts"

/** Every pair's verdict and why, grouped by proposed type. */
export const report = (
  tags: ReadonlyArray<string>,
  pairs: ReadonlyArray<InferredPair>,
  casesPerPair: number,
  seed: number
): string => {
  const counts = (tag: Verdict["_tag"]) => pairs.filter((pair) => pair.verdict._tag === tag).length
  const lines = [
    `inferred from up to ${casesPerPair} cases per law and pair (seed ${seed}): ${counts("Allowed")} pairs never ` +
    `conflict, ${counts("SameKey")} conflict only on the same key, ${counts("Conflict")} conflict`
  ]
  for (const proposed of tags) {
    lines.push(`${proposed}:`)
    for (const pair of pairs.filter((p) => p.proposed === proposed)) {
      lines.push(`  → ${pair.committed}: ${describeVerdict(pair.verdict)} (${pair.reason})`)
    }
  }
  return lines.join("\n")
}
