/**
 * Verdicts that hold from one run to the next: a target is judged on a 95% confidence interval of its figure, not on
 * one number. `met` when the whole interval satisfies the target, `missed` when the whole interval fails it,
 * `unclear` when the interval straddles the threshold, with the number of trials that would likely decide it.
 *
 * Ratios (Concord against a contender measured back to back in the same round) are judged on the logarithms of the
 * per-trial ratios: a Student t-interval of their mean, turned back into a ratio, is the interval of the geometric
 * mean ratio. Taking logarithms makes a ratio and its inverse symmetric (A/B at 2x and B/A at 0.5x get the same
 * verdict) and fits noise that scales with the figure. Figures that can be zero (bytes allocated) are judged on a
 * t-interval of their plain mean. See ANALYSIS.md for why a t-interval rather than a bootstrap.
 *
 * Pure: no I/O, no clock; tested on synthetic figures in test/Verdict.test.ts.
 *
 * @since 0.1.0
 */

/**
 * The 95% interval of a figure's center from its trials.
 *
 * @since 0.1.0
 * @category models
 */
export interface Estimate {
  readonly trials: number
  /** The geometric mean (ratios) or the mean (plain figures) of the trials. */
  readonly center: number
  readonly low: number
  readonly high: number
  /** Whether the interval was taken on logarithms (ratios) or on the values themselves. */
  readonly scale: Scale
}

/**
 * @since 0.1.0
 * @category models
 */
export type Scale = "log" | "linear"

/**
 * What a target asks of a figure: at least, at most, or within a band (all bounds inclusive, except that `below`
 * is strict).
 *
 * @since 0.1.0
 * @category models
 */
export type Requirement =
  | { readonly _tag: "AtLeast"; readonly value: number }
  | { readonly _tag: "AtMost"; readonly value: number }
  | { readonly _tag: "Below"; readonly value: number }
  | { readonly _tag: "Within"; readonly low: number; readonly high: number }

/**
 * @since 0.1.0
 * @category constructors
 */
export const atLeast = (value: number): Requirement => ({ _tag: "AtLeast", value })

/**
 * @since 0.1.0
 * @category constructors
 */
export const atMost = (value: number): Requirement => ({ _tag: "AtMost", value })

/**
 * @since 0.1.0
 * @category constructors
 */
export const below = (value: number): Requirement => ({ _tag: "Below", value })

/**
 * @since 0.1.0
 * @category constructors
 */
export const within = (low: number, high: number): Requirement => ({ _tag: "Within", low, high })

/**
 * @since 0.1.0
 * @category models
 */
export type Outcome = "met" | "missed" | "unclear"

// Student's t at 97.5% (two-sided 95%) for 1 to 30 degrees of freedom.
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042
]

/**
 * The 97.5% quantile of Student's t with `df` degrees of freedom: a table to 30, the Cornish–Fisher expansion beyond
 * (within 0.001 of the exact value there).
 *
 * @since 0.1.0
 * @category statistics
 */
export const tQuantile = (df: number): number => {
  if (!(df >= 1)) return Number.POSITIVE_INFINITY
  if (df <= 30) return T975[Math.floor(df) - 1]!
  const z = 1.959964
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
}

const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length

const standardDeviation = (values: ReadonlyArray<number>) => {
  const m = mean(values)
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1))
}

/** Center and half-width of the t-interval on `values`; one value gives an infinite half-width. */
const tInterval = (values: ReadonlyArray<number>) => {
  if (values.length === 0) throw new Error("an estimate needs at least one trial")
  const center = mean(values)
  const half = values.length < 2 ? Number.POSITIVE_INFINITY : tQuantile(values.length - 1) *
    standardDeviation(values) / Math.sqrt(values.length)
  return { center, half }
}

/**
 * The 95% interval of the geometric mean of positive per-trial ratios.
 *
 * @since 0.1.0
 * @category statistics
 */
export const ofRatios = (ratios: ReadonlyArray<number>): Estimate => {
  for (const r of ratios) {
    if (!(r > 0 && Number.isFinite(r))) throw new Error(`a ratio must be positive and finite, not ${r}`)
  }
  const { center, half } = tInterval(ratios.map(Math.log))
  return {
    trials: ratios.length,
    center: Math.exp(center),
    low: Math.exp(center - half),
    high: Math.exp(center + half),
    scale: "log"
  }
}

/**
 * The 95% interval of the mean of per-trial values.
 *
 * @since 0.1.0
 * @category statistics
 */
export const ofValues = (values: ReadonlyArray<number>): Estimate => {
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`a value must be finite, not ${v}`)
  const { center, half } = tInterval(values)
  return { trials: values.length, center, low: center - half, high: center + half, scale: "linear" }
}

/**
 * Whether a number satisfies the requirement.
 *
 * @since 0.1.0
 * @category verdicts
 */
export const holds = (requirement: Requirement, value: number): boolean => {
  switch (requirement._tag) {
    case "AtLeast":
      return value >= requirement.value
    case "AtMost":
      return value <= requirement.value
    case "Below":
      return value < requirement.value
    case "Within":
      return value >= requirement.low && value <= requirement.high
  }
}

/**
 * `met` when every value in the interval satisfies the requirement, `missed` when none does, `unclear` otherwise.
 *
 * @since 0.1.0
 * @category verdicts
 */
export const judge = (estimate: Estimate, requirement: Requirement): Outcome => {
  const { high, low } = estimate
  if (holds(requirement, low) && holds(requirement, high)) return "met"
  switch (requirement._tag) {
    case "AtLeast":
      return high < requirement.value ? "missed" : "unclear"
    case "AtMost":
      return low > requirement.value ? "missed" : "unclear"
    case "Below":
      return low >= requirement.value ? "missed" : "unclear"
    case "Within":
      return high < requirement.low || low > requirement.high ? "missed" : "unclear"
  }
}

/**
 * A target over many cells (every batch size, every registry size): `missed` when any cell is, `met` when every cell
 * is, `unclear` otherwise.
 *
 * @since 0.1.0
 * @category verdicts
 */
export const combine = (outcomes: ReadonlyArray<Outcome>): Outcome =>
  outcomes.includes("missed") ? "missed" : outcomes.every((o) => o === "met") ? "met" : "unclear"

/** The thresholds a requirement has, on the estimate's scale. */
const thresholds = (requirement: Requirement): ReadonlyArray<number> =>
  requirement._tag === "Within" ? [requirement.low, requirement.high] : [requirement.value]

/**
 * For an unclear estimate, about how many trials would narrow its interval enough to decide, if the spread between
 * trials stays what it was: the interval shrinks with Student's t over the square root of the trials. `undefined`
 * when the center sits on a threshold (no number of trials decides it), or beyond `limit`.
 *
 * @since 0.1.0
 * @category verdicts
 */
export const trialsToDecide = (estimate: Estimate, requirement: Requirement, limit = 200): number | undefined => {
  if (judge(estimate, requirement) !== "unclear") return estimate.trials
  const transform = estimate.scale === "log" ? Math.log : (x: number) => x
  const center = transform(estimate.center)
  // The distance from the center to the nearest threshold inside the interval.
  const margin = Math.min(
    ...thresholds(requirement).filter((t) => t >= estimate.low && t <= estimate.high).map((t) =>
      Math.abs(transform(t) - center)
    )
  )
  if (!(margin > 0)) return undefined
  // Too few trials to know the spread: a handful more first.
  if (estimate.trials < 2 || !Number.isFinite(estimate.high)) return 5
  const half = (transform(estimate.high) - transform(estimate.low)) / 2
  const spread = half / tQuantile(estimate.trials - 1) * Math.sqrt(estimate.trials)
  for (let n = estimate.trials + 1; n <= limit; n++) {
    if (tQuantile(n - 1) * spread / Math.sqrt(n) < margin) return n
  }
  return undefined
}
