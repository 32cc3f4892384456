// The results as JSON for the docs site, and as a markdown table for people. Every figure the analysis quotes and
// every verdict on a target is computed here from the results, so the text cannot drift from the tables.
import * as fs from "node:fs"
import * as os from "node:os"
import type { Figure, Section } from "./Measure.js"

export interface Results {
  readonly generatedAt: string
  readonly machine: { readonly cpus: number; readonly node: string; readonly platform: string }
  /** The size the workloads ran at ("full" for published results) and the wall-clock time of the whole run. */
  readonly run: { readonly size: string; readonly seconds: number }
  /** Settings of the throwaway PostgreSQL cluster, which the reader needs to judge its figures. */
  readonly postgres: { readonly settings: ReadonlyArray<string> } | null
  readonly sections: ReadonlyArray<Section>
}

export const make = (
  sections: ReadonlyArray<Section>,
  run: Results["run"],
  postgres: Results["postgres"]
): Results => ({
  generatedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}` },
  run,
  postgres,
  sections
})

const format = (value: number) =>
  Math.abs(value) >= 1000 || Number.isInteger(value)
    ? Math.round(value).toLocaleString("en-US")
    : Math.abs(value) >= 10
    ? value.toFixed(1)
    : value.toFixed(3)

/** A number with its unit; percentages and ratios take theirs without a space. */
const withUnit = (text: string, unit: string) => unit === "%" || unit === "x" ? `${text}${unit}` : `${text} ${unit}`

const row = (figure: Figure) =>
  `| ${figure.name} | ${format(figure.median)} | ${format(figure.min)} | ${format(figure.max)} | ${figure.unit} |`

// -----------------------------------------------------------------------------
// looking figures up by name
// -----------------------------------------------------------------------------

/** Rows a pattern names are not in these results. */
class Missing extends Error {}

interface Match {
  readonly figure: Figure
  /** What the pattern's `*`s matched: pairs rows of two patterns. */
  readonly key: string
}

const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&")

/** The rows whose name matches `pattern`, in which `*` stands for any text; none is an error. */
const find = (results: Results, pattern: string): ReadonlyArray<Match> => {
  const regex = new RegExp(`^${pattern.trim().split("*").map(escape).join("(.*?)")}$`)
  const found = results.sections.flatMap((section) =>
    section.rows.flatMap((figure) => {
      const match = regex.exec(figure.name)
      return match === null ? [] : [{ figure, key: match.slice(1).join("\u0000") }]
    })
  )
  if (found.length === 0) throw new Missing(`no figure in the results is named "${pattern.trim()}"`)
  return found
}

/** Medians of `a` over medians of `b`, row by row, paired by what their `*`s matched. */
const ratios = (results: Results, a: string, b: string): ReadonlyArray<number> => {
  const denominators = new Map(find(results, b).map((m) => [m.key, m.figure.median]))
  const values = find(results, a).flatMap((m) => {
    const denominator = denominators.get(m.key)
    return denominator === undefined ? [] : [m.figure.median / denominator]
  })
  if (values.length === 0) throw new Missing(`no row of "${a}" pairs with a row of "${b}"`)
  return values
}

/** One value, or the span of several ("1.9x–2.4x"). */
const span = (values: ReadonlyArray<number>, show: (value: number) => string) => {
  const low = Math.min(...values)
  const high = Math.max(...values)
  return show(low) === show(high) ? show(low) : `${show(low)}–${show(high)}`
}

const times = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(0)}x`
const percent = (value: number) => `${Math.round(100 * value)}%`

/**
 * The placeholders the analysis may use, each naming rows (a `*` matches any text and makes the placeholder span
 * every matching row):
 * - `{{median ROWS}}`: the median with its unit; `{{max ROWS}}`: the largest of the trials;
 * - `{{range ROW}}`: median (min–max) of one row;
 * - `{{ratio A | B}}`: A's median over B's, as "1.23x"; `{{percent A | B}}`: the same as a percentage;
 * - `{{target PREFIX}}`: what the target whose name starts with PREFIX measured, and whether it was met;
 * - `{{duration}}`: the whole run in seconds.
 */
const placeholder = (results: Results, expression: string): string => {
  const [name, ...rest] = expression.trim().split(" ")
  const argument = rest.join(" ")
  const [a, b] = argument.split("|")
  switch (name) {
    case "median":
    case "max": {
      const found = find(results, argument)
      const values = found.map((m) => name === "median" ? m.figure.median : m.figure.max)
      return withUnit(span(values, format), found[0]!.figure.unit)
    }
    case "range": {
      const [only, ...others] = find(results, argument)
      if (others.length > 0) throw new Error(`{{range}} takes one row; "${argument}" names ${others.length + 1}`)
      const { figure } = only!
      return `${withUnit(format(figure.median), figure.unit)} (${format(figure.min)}–${format(figure.max)})`
    }
    case "target": {
      const verdict = targets(results).find((t) => t.target.startsWith(argument))
      if (verdict === undefined) throw new Error(`no target starts with "${argument}"`)
      if (verdict.met === undefined) throw new Missing(verdict.measured)
      return `${verdict.measured} (${verdict.met ? "met" : "missed"})`
    }
    case "ratio":
      return span(ratios(results, a!, b!), times)
    case "percent":
      return span(ratios(results, a!, b!), percent)
    case "duration":
      return `${Math.round(results.run.seconds)} s`
    default:
      throw new Error(`unknown placeholder {{${expression}}}`)
  }
}

const placeholders = /\{\{([^}]+)\}\}/g

/** Placeholders whose rows this run lacks: expected at a smaller size, a typo in a full run. */
export const unmatched = (results: Results, analysis: string): ReadonlyArray<string> =>
  [...analysis.matchAll(placeholders)].flatMap(([whole, expression]) => {
    try {
      placeholder(results, expression!)
      return []
    } catch (error) {
      if (error instanceof Missing) return [whole]
      throw error
    }
  })

/**
 * The analysis with every placeholder replaced by figures from the results; one whose rows this run lacks reads
 * "(not measured in this run)", and an unknown placeholder fails.
 */
export const fill = (results: Results, analysis: string): string =>
  analysis.replace(placeholders, (_, expression: string) => {
    try {
      return placeholder(results, expression)
    } catch (error) {
      if (error instanceof Missing) return "(not measured in this run)"
      throw error
    }
  })

// -----------------------------------------------------------------------------
// the project's targets
// -----------------------------------------------------------------------------

interface Verdict {
  readonly target: string
  /** Undefined when this run did not measure it. */
  readonly met: boolean | undefined
  readonly measured: string
}

/** A target's verdict; a target whose rows this run lacks (a smaller size, no PostgreSQL) is not measured. */
const judge = (
  target: string,
  compute: () => { readonly met: boolean; readonly measured: string }
): Verdict => {
  try {
    return { target, ...compute() }
  } catch (error) {
    if (!(error instanceof Missing)) throw error
    return { target, met: undefined, measured: "not measured in this run" }
  }
}

/** A target over ratios of two patterns, met when every ratio passes `ok`. */
const ratioTarget = (
  results: Results,
  target: string,
  [a, b]: readonly [string, string],
  ok: (ratio: number) => boolean,
  show: (value: number) => string
): Verdict =>
  judge(target, () => {
    const values = ratios(results, a, b)
    return { met: values.every(ok), measured: span(values, show) }
  })

/** Medians of every row matching `pattern`, met when every one passes `ok`. */
const medianTarget = (
  results: Results,
  target: string,
  pattern: string,
  ok: (median: number) => boolean,
  show: (value: number) => string
): Verdict =>
  judge(target, () => {
    const medians = find(results, pattern).map((m) => m.figure.median)
    return { met: medians.every(ok), measured: span(medians, show) }
  })

/**
 * Growth with the stream's length: at each lag, every stream length's median against the shortest stream's, met
 * within ±20%. Lags differ by design (a writer further behind has more events to check), so they are not compared.
 */
const growthTarget = (results: Results, backend: string): Verdict =>
  judge(`${backend}: flat growth with the stream's length (±20% of the shortest stream at the same lag)`, () => {
    const cells = find(results, `${backend}: stream of * events, * behind`).map((m) => {
      const [length, behind] = m.key.split("\u0000").map(Number)
      return { length: length!, behind: behind!, median: m.figure.median }
    })
    const relative = cells.flatMap((cell) => {
      const shortest = cells.filter((c) => c.behind === cell.behind).sort((a, b) => a.length - b.length)[0]!
      return shortest === cell ? [] : [cell.median / shortest.median]
    })
    if (relative.length === 0) throw new Missing(`${backend}: one stream length only`)
    return {
      met: relative.every((r) => r >= 0.8 && r <= 1.2),
      measured: `longer streams at ${span(relative, percent)} of the shortest`
    }
  })

export const targets = (results: Results): ReadonlyArray<Verdict> => [
  ratioTarget(
    results,
    "Detection within 2x of the baseline loop (baseline rate / Concord rate)",
    ["baseline loop: *", "Concord detect: *"],
    (r) => r <= 2,
    times
  ),
  // The smallest object V8 allocates is 16 bytes: under that per check, checks do not allocate.
  medianTarget(
    results,
    "No allocation per check when nothing conflicts (under 16 bytes, V8's smallest object, per check)",
    "bytes allocated per check when nothing conflicts*",
    (bytes) => bytes < 16,
    (bytes) => `${bytes.toFixed(2)} bytes`
  ),
  ratioTarget(
    results,
    "Memory store ≥ 2x Emmett's in-memory store",
    ["memory, batch *: Concord layerMemory", "memory, batch *: Emmett in-memory 0.42"],
    (r) => r >= 2,
    times
  ),
  ratioTarget(
    results,
    "SQLite ≥ 70% of the raw durable insert",
    ["SQLite, batch *: Concord layerSqlite", "SQLite, batch *: raw better-sqlite3"],
    (r) => r >= 0.7,
    percent
  ),
  ratioTarget(
    results,
    "PostgreSQL ≥ 70% of raw at 8 connections",
    ["PostgreSQL 8 writer(s), batch *: Concord layerPg", "PostgreSQL 8 writer(s), batch *: raw pg"],
    (r) => r >= 0.7,
    percent
  ),
  ratioTarget(
    results,
    "PostgreSQL ≥ 1.5x Emmett's PostgreSQL store",
    ["PostgreSQL * writer(s), batch *: Concord layerPg", "PostgreSQL * writer(s), batch *: Emmett PostgreSQL 0.42"],
    (r) => r >= 1.5,
    times
  ),
  medianTarget(
    results,
    "Commuting events (0% conflicting): first-try acceptance ≥ 3x plain optimistic concurrency",
    "K=*, 0% conflicting: first-try acceptance, Concord / plain",
    (r) => r >= 3,
    times
  ),
  judge("Zero false rejections with the CRM registry (every trial of every cell)", () => {
    const worst = Math.max(
      ...find(results, "K=*, * conflicting, Concord, CRM registry: false rejections").map((m) => m.figure.max)
    )
    return { met: worst === 0, measured: `at most ${worst} in a trial` }
  }),
  growthTarget(results, "SQLite"),
  growthTarget(results, "PostgreSQL")
]

const verdictWord = (met: boolean | undefined) => met === undefined ? "not measured" : met ? "**met**" : "**missed**"

// -----------------------------------------------------------------------------
// the document
// -----------------------------------------------------------------------------

export const markdown = (results: Results, analysis: string): string =>
  [
    "# Benchmark results",
    "",
    `Generated by \`npm run bench\` on ${results.generatedAt} (${results.machine.cpus} cores, Node ${results.machine.node}, ` +
    `${results.machine.platform}) at ${results.run.size} size; the whole run took ${
      Math.round(results.run.seconds)
    } s. Every figure is the median of its trials with min and max; contenders were measured in the same run, ` +
    "trials alternating between them. Uncontended and contention trials each run on a fresh store (a fresh " +
    "SQLite file or PostgreSQL database); detection needs no store; growth uses one store per backend for all its " +
    "cells and rounds (see its notes); memory measures a fresh process per trial.",
    "",
    results.postgres === null
      ? "PostgreSQL was not available in this run: its figures are missing."
      : `The throwaway PostgreSQL cluster runs with \`${
        results.postgres.settings.join(" ")
      }\`: commits do not wait for the disk, so its figures measure round trips and CPU, not durability. Concord, ` +
        "the raw `pg` baseline and Emmett run on that same cluster with the same settings, so their ratios compare " +
        "like with like. SQLite runs in WAL mode with `synchronous = NORMAL` for Concord and the raw baseline " +
        "(durable at checkpoints, not at every commit); Emmett's SQLite store uses its own defaults.",
    "",
    "## Targets",
    "",
    "Each verdict is computed from the figures below.",
    "",
    "| target | measured | verdict |",
    "| --- | --- | --- |",
    ...targets(results).map((t) => `| ${t.target} | ${t.measured} | ${verdictWord(t.met)} |`),
    "",
    ...results.sections.flatMap((section) => [
      `## ${section.title}`,
      "",
      "| measurement | median | min | max | unit |",
      "| --- | ---: | ---: | ---: | --- |",
      ...section.rows.map(row),
      "",
      section.notes,
      ""
    ]),
    fill(results, analysis)
  ].join("\n")

export const write = (directory: string, results: Results, analysis: string) => {
  for (const whole of unmatched(results, analysis)) console.error(`ANALYSIS.md: no figure for ${whole} in this run`)
  // Render first: an analysis quoting a figure the results lack fails before anything is overwritten.
  const document = markdown(results, analysis)
  fs.mkdirSync(directory, { recursive: true })
  fs.writeFileSync(`${directory}/latest.json`, JSON.stringify(results, null, 2) + "\n")
  fs.writeFileSync(`${directory}/RESULTS.md`, document)
}
