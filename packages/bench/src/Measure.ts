/**
 * How figures are taken: every figure is the median of several trials with min and max, and every comparison is a
 * ratio of two things measured in the same run, trials alternating A B A B.
 */
export interface Figure {
  readonly name: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly unit: string
}

export interface Section {
  readonly id: string
  readonly title: string
  readonly unit: string
  readonly rows: ReadonlyArray<Figure>
  readonly notes: string
}

export const summarize = (name: string, samples: ReadonlyArray<number>, unit: string): Figure => {
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return { name, median, min: sorted[0]!, max: sorted[sorted.length - 1]!, unit }
}

/**
 * Runs each contender's trial in turn, `trials` rounds (A B C A B C ...), and summarizes each contender's samples.
 */
export const alternate = async (
  trials: number,
  contenders: ReadonlyArray<{ readonly name: string; readonly trial: () => Promise<number> | number }>,
  unit: string
): Promise<ReadonlyArray<Figure>> => {
  const samples = contenders.map(() => [] as Array<number>)
  for (let round = 0; round < trials; round++) {
    for (let c = 0; c < contenders.length; c++) samples[c]!.push(await contenders[c]!.trial())
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

export const ratio = (a: Figure, b: Figure) => a.median / b.median
