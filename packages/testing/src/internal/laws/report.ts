// What a law run covered, in numbers and in words.
import type { PairCoverage, Report } from "../../Laws.js"
import type { AllowedPair } from "./pairs.js"
import { describeRule, pairName } from "./pairs.js"

const why = (law: string) =>
  law === "commutation"
    ? "the registry let no generated case through"
    : "no generated command producing the proposed type succeeded with the committed type behind it"

/** The report of a run over `pairs`, each with the number of cases that exercised it. */
export const makeReport = (
  law: string,
  seed: number,
  casesPerPair: number,
  checked: ReadonlyArray<readonly [AllowedPair, number]>,
  ignored: ReadonlyArray<string> = []
): Report => {
  const pairs = checked.map(([pair, cases]) => ({
    proposed: pair.proposed,
    committed: pair.committed,
    rule: describeRule(pair),
    cases
  }))
  const named = (coverage: PairCoverage) =>
    pairName(checked.find(([pair]) => pair.proposed === coverage.proposed && pair.committed === coverage.committed)![0])
  const unreached = pairs.filter((pair) => pair.cases === 0)
  const reached = pairs.filter((pair) => pair.cases > 0)
  const fewest = reached.reduce((least, pair) => Math.min(least, pair.cases), casesPerPair)
  const short = reached.filter((pair) => pair.cases < casesPerPair)
  const lines = [
    `${law}: checked ${pairs.length} allowed pair${pairs.length === 1 ? "" : "s"}` +
    (reached.length === 0 ? "" : `, ${reached.length === pairs.length ? "each" : `${reached.length} of them`} on ` +
      `≥ ${fewest} case${fewest === 1 ? "" : "s"}`) +
    ` (seed ${seed})`
  ]
  if (short.length > 0) {
    lines.push(
      `  fewer than ${casesPerPair} cases: ` +
        short.map((pair) => `${named(pair)} (${pair.cases})`).join(", ")
    )
  }
  if (unreached.length > 0) {
    lines.push(`  never reached (${why(law)}): ${unreached.map(named).join(", ")}`)
  }
  if (ignored.length > 0) lines.push(`  named in pairs but never let through by the registry: ${ignored.join(", ")}`)
  return { law, seed, casesPerPair, pairs, unreached, summary: lines.join("\n") }
}
