// The results of a run, and looking their figures up by name: what the targets and the analysis's placeholders read.
import type { Figure, Section } from "./Measure.js"

export interface Results {
  readonly generatedAt: string
  readonly machine: { readonly cpus: number; readonly node: string; readonly platform: string }
  /** The size the last run used ("full" for published results) and its wall-clock time. */
  readonly run: { readonly size: string; readonly seconds: number }
  /** Settings of the throwaway PostgreSQL cluster, which the reader needs to judge its figures. */
  readonly postgres: { readonly settings: ReadonlyArray<string> } | null
  readonly sections: ReadonlyArray<Section>
}

/** Rows a pattern names are not in these results. */
export class Missing extends Error {}

export interface Match {
  readonly figure: Figure
  /** The section the row is in. */
  readonly section: string
  /** What the pattern's `*`s matched: pairs rows of two patterns. */
  readonly key: string
}

const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&")

/** The rows whose name matches `pattern`, in which `*` stands for any text; none is an error. */
export const find = (results: Results, pattern: string): ReadonlyArray<Match> => {
  const regex = new RegExp(`^${pattern.trim().split("*").map(escape).join("(.*?)")}$`)
  const found = results.sections.flatMap((section) =>
    section.rows.flatMap((figure) => {
      const match = regex.exec(figure.name)
      return match === null ? [] : [{ figure, section: section.id, key: match.slice(1).join("\u0000") }]
    })
  )
  if (found.length === 0) throw new Missing(`no figure in the results is named "${pattern.trim()}"`)
  return found
}

export interface Paired {
  /** The numerator's row name. */
  readonly name: string
  readonly section: string
  /** What the patterns' `*`s matched, one entry per `*`. */
  readonly parts: ReadonlyArray<string>
  /** Trial i of the numerator over trial i of the denominator: the two ran in the same round. */
  readonly ratios: ReadonlyArray<number>
}

/** Trial-by-trial ratios of two rows measured in the same rounds. */
export const pairTrials = (a: Figure, b: Figure): ReadonlyArray<number> => {
  if (a.samples.length !== b.samples.length) {
    throw new Error(`"${a.name}" has ${a.samples.length} trials and "${b.name}" ${b.samples.length}: not paired`)
  }
  return a.samples.map((value, i) => value / b.samples[i]!)
}

/** Rows of `a` over rows of `b`, paired by what their `*`s matched, each as its trial-by-trial ratios. */
export const paired = (results: Results, a: string, b: string): ReadonlyArray<Paired> => {
  const denominators = new Map(find(results, b).map((m) => [m.key, m.figure]))
  const values = find(results, a).flatMap((m) => {
    const denominator = denominators.get(m.key)
    return denominator === undefined
      ? []
      : [{
        name: m.figure.name,
        section: m.section,
        parts: m.key.split("\u0000"),
        ratios: pairTrials(m.figure, denominator)
      }]
  })
  if (values.length === 0) throw new Missing(`no row of "${a}" pairs with a row of "${b}"`)
  return values
}
