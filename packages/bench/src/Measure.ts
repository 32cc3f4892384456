/**
 * How figures are taken: every figure keeps its trials in the order they ran, with their median, min and max; every
 * comparison pairs trials of two contenders measured back to back in the same round (see `alternate`), so that a
 * ratio is taken per round and judged on its spread (see Verdict.ts), never as a ratio of medians taken apart.
 */
export interface Figure {
  readonly name: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly unit: string
  /** Each trial's value, in the order of the rounds: trial i of two figures of one comparison ran side by side. */
  readonly samples: ReadonlyArray<number>
}

export interface Section {
  readonly id: string
  readonly title: string
  readonly unit: string
  readonly rows: ReadonlyArray<Figure>
  readonly notes: string
  /** When the section was measured, at which size, with how many trials (rounds), and how long it took. */
  readonly measured?: {
    readonly at: string
    readonly size: string
    readonly trials: number
    readonly seconds: number
  }
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const summarize = (name: string, samples: ReadonlyArray<number>, unit: string): Figure => ({
  name,
  median: median(samples),
  min: Math.min(...samples),
  max: Math.max(...samples),
  unit,
  samples: [...samples]
})

/**
 * Runs each contender's trial once per round, `trials` rounds, and summarizes each contender's samples. The order
 * turns around every round (A B C, then C B A), so that no contender always runs first or last in a round; list the
 * contender the others are compared with in the middle, so that it runs next to each of them in every round. With
 * `warmUp`, each contender first runs one trial that is not counted: the first trial of code not yet compiled by the
 * optimising compiler would otherwise be one round's outlier, and a ratio's interval is wide open to one.
 */
export const alternate = async (
  trials: number,
  contenders: ReadonlyArray<{ readonly name: string; readonly trial: () => Promise<number> | number }>,
  unit: string,
  options: { readonly warmUp?: boolean } = {}
): Promise<ReadonlyArray<Figure>> => {
  if (options.warmUp === true) { for (const contender of contenders) await contender.trial() }
  const samples = contenders.map(() => [] as Array<number>)
  for (let round = 0; round < trials; round++) {
    const order = contenders.map((_, c) => round % 2 === 0 ? c : contenders.length - 1 - c)
    for (const c of order) samples[c]!.push(await contenders[c]!.trial())
  }
  return contenders.map((contender, c) => summarize(contender.name, samples[c]!, unit))
}

/** Operations per second of `run`, which performs `operations` operations per call, over about `millis`. */
export const rate = (operations: number, run: () => void, millis: number): number => {
  let calls = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < millis) {
    run()
    calls++
    elapsed = performance.now() - start
  }
  return (calls * operations) / (elapsed / 1000)
}

/** Operations per second of an async `run` performing `operations` operations. */
export const rateAsync = async (operations: number, run: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await run()
  return operations / ((performance.now() - start) / 1000)
}

export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
