// Checking one pair: its own fast-check run, seeded from the law's seed and the pair, so that a law's seed replays
// every pair exactly; cases where the pair was not exercised are skipped, not counted.
import * as FastCheck from "effect/FastCheck"
import type { Draw } from "./cases.js"
import type { Pool } from "./domain.js"
import { isolated } from "./domain.js"

/** How much a law checks: the cases per pair, and how many draws it may skip per case before it gives up. */
export interface Budget {
  readonly casesPerPair: number
  readonly maxSkipsPerCase: number
  readonly seed: number
  /** fast-check's other parameters, as the caller gave them. */
  readonly parameters: FastCheck.Parameters<any>
}

/** What checking one pair found: how many cases exercised it, and the first failing one, shrunk. */
export interface PairResult<T> {
  readonly cases: number
  readonly failure:
    | { readonly value: T; readonly seed: number; readonly path: string; readonly error: unknown }
    | undefined
}

/** The seed the law runs with: the caller's, the global configuration's, or a fresh one. */
export const lawSeed = (parameters: FastCheck.Parameters<any> | undefined): number =>
  parameters?.seed ?? FastCheck.readConfigureGlobal()?.seed ?? ((Date.now() ^ (Math.random() * 0x100000000)) | 0)

/** A pair's seed: the law's, mixed with the pair's name (FNV-1a), so that pairs draw independently. */
export const pairSeed = (seed: number, name: string): number => {
  let hash = 0x811c9dc5 ^ seed
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193)
  return hash | 0
}

/** How many cases the first round of a pair's check asks for, and how many draws it may skip per case. */
const pilotCases = 5
const pilotSkipsPerCase = 100

/** Marks a draw that does not exercise the pair: skipped, not counted. */
export const skip = (): never => {
  FastCheck.pre(false)
  throw new Error("unreachable")
}

/**
 * Runs `check` on cases drawn from `cases`, their key fields from the run's pool: true when the case holds, false or a
 * thrown error when it does not, `skip()` when the case does not exercise the pair.
 */
export const checkPair = <T>(
  name: string,
  pool: Pool,
  cases: FastCheck.Arbitrary<Draw<T>>,
  check: (value: T) => boolean,
  budget: Budget
): PairResult<T> => {
  const property = FastCheck.property(cases, (draw) => check(draw(pool)))
  const seed = pairSeed(budget.seed, name)
  const { numRuns: _, seed: __, path: ___, ...parameters } = budget.parameters
  const run = (numRuns: number, maxSkipsPerRun: number) =>
    FastCheck.check(property, { ...isolated, ...parameters, seed, numRuns, maxSkipsPerRun }) as FastCheck.RunDetails<
      [Draw<T>]
    >
  // A first few cases, then the rest: a pair that no draw of the first budget exercises is unreached, and spends no
  // more (the same seed draws the same first cases again).
  const pilot = run(Math.min(pilotCases, budget.casesPerPair), pilotSkipsPerCase)
  const details = pilot.counterexample !== null || pilot.numRuns === 0
    ? pilot
    : run(budget.casesPerPair, budget.maxSkipsPerCase)
  // Running out of draws that exercise the pair is low coverage, which the report shows, not a violation.
  if (!details.failed || details.counterexample === null) return { cases: details.numRuns, failure: undefined }
  const [draw] = details.counterexample
  return {
    cases: details.numRuns,
    failure: { value: draw(pool), seed, path: details.counterexamplePath ?? "", error: details.errorInstance }
  }
}
