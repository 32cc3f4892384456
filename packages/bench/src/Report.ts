// The results as JSON for the docs site, and as a markdown table for people. Every figure the analysis quotes and
// every verdict on a target is computed here from the results, so the text cannot drift from the tables.
import * as fs from "node:fs"
import * as os from "node:os"
import { find, Missing, paired, type Results } from "./Figures.js"
import type { Figure, Section } from "./Measure.js"
import * as Targets from "./Targets.js"
import * as Verdict from "./Verdict.js"

export type { Results } from "./Figures.js"

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

/**
 * `fresh` with the sections of `previous` that it did not measure, in the usual order: a rerun of one section
 * (`--only`) replaces that section in the published results and keeps the others, each with when it was measured.
 */
export const merge = (previous: Results, fresh: Results, order: ReadonlyArray<string>): Results => {
  const measured = new Set(fresh.sections.map((s) => s.id))
  const sections = [...fresh.sections, ...previous.sections.filter((s) => !measured.has(s.id))]
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length)
  return {
    ...fresh,
    postgres: fresh.postgres ?? previous.postgres,
    sections: sections.sort((a, b) => rank(a.id) - rank(b.id))
  }
}

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

/**
 * The placeholders the analysis may use, each naming rows (a `*` matches any text and makes the placeholder span
 * every matching row):
 * - `{{median ROWS}}`: the median with its unit; `{{max ROWS}}`: the largest of the trials;
 * - `{{range ROW}}`: median (min–max) of one row;
 * - `{{ratio A | B}}`: A over B trial by trial (the two ran in the same round), the geometric mean of those ratios,
 *   as "1.23x"; `{{percent A | B}}`: the same as a percentage;
 * - `{{target PREFIX}}`: what the target whose name starts with PREFIX measured, and its verdict;
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
      return withUnit(Targets.span(values, format), found[0]!.figure.unit)
    }
    case "range": {
      const [only, ...others] = find(results, argument)
      if (others.length > 0) throw new Error(`{{range}} takes one row; "${argument}" names ${others.length + 1}`)
      const { figure } = only!
      return `${withUnit(format(figure.median), figure.unit)} (${format(figure.min)}–${format(figure.max)})`
    }
    case "target": {
      const verdict = Targets.targets(results).find((t) => t.target.startsWith(argument))
      if (verdict === undefined) throw new Error(`no target starts with "${argument}"`)
      if (verdict.outcome === undefined) throw new Missing(verdict.measured)
      return `${verdict.measured} (${verdict.outcome})`
    }
    case "ratio":
    case "percent":
      return Targets.span(
        paired(results, a!, b!).map((p) => Verdict.ofRatios(p.ratios).center),
        name === "ratio" ? Targets.times : Targets.percent
      )
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
// the document
// -----------------------------------------------------------------------------

const verdictWord = (outcome: Verdict.Outcome | undefined) => outcome === undefined ? "not measured" : `**${outcome}**`

const targetsTable = (targets: ReadonlyArray<Targets.Target>) => [
  "## Targets",
  "",
  "Each verdict is computed from the figures below, cell by cell (every batch size, registry, stream length): a " +
  "cell's figure is the geometric mean of its per-round ratios, Concord and the other side measured back to back in " +
  "the same round, with the 95% confidence interval of that mean (a t-interval of the ratios' logarithms; of the " +
  "plain values for the bytes allocated). A cell is **met** when its whole interval satisfies the target, " +
  "**missed** when none of it does, **unclear** when the interval straddles the threshold. A target is met when " +
  "every cell is, missed when any cell is. The measured column shows the span of the cells and the worst cell with " +
  "its interval; the cells follow the table.",
  "",
  "| target | measured | verdict |",
  "| --- | --- | --- |",
  ...targets.map((t) =>
    `| ${t.target} | ${t.measured} | ${verdictWord(t.outcome)}${t.remedy === undefined ? "" : `: ${t.remedy}`} |`
  ),
  ""
]

const cellsTable = (targets: ReadonlyArray<Targets.Target>) =>
  targets.filter((t) => t.cells.length > 0).flatMap((t) => [
    `**${t.target}**`,
    "",
    "| cell | trials | figure (95% interval) | verdict |",
    "| --- | ---: | --- | --- |",
    ...t.cells.map((c) =>
      `| ${c.name} | ${c.estimate?.trials ?? ""} | ${
        c.estimate === undefined ? c.value ?? "" : Targets.withInterval(c.estimate, t.show)
      } | ${c.outcome} |`
    ),
    ""
  ])

const sectionTable = (section: Section) => [
  `## ${section.title}`,
  "",
  ...(section.measured === undefined ? [] : [
    `Measured ${section.measured.at} at ${section.measured.size} size, ${section.measured.trials} trial${
      section.measured.trials === 1 ? "" : "s"
    }, in ${Math.round(section.measured.seconds)} s (\`npm run bench -- --only ${section.id}\` reruns it).`,
    ""
  ]),
  "| measurement | median | min | max | unit |",
  "| --- | ---: | ---: | ---: | --- |",
  ...section.rows.map(row),
  "",
  section.notes,
  ""
]

export const markdown = (results: Results, analysis: string): string => {
  const targets = Targets.targets(results)
  return [
    "# Benchmark results",
    "",
    `Generated by \`npm run bench\` on ${results.generatedAt} (${results.machine.cpus} cores, Node ${results.machine.node}, ` +
    `${results.machine.platform}) at ${results.run.size} size; the last run took ${
      Math.round(results.run.seconds)
    } s. Every figure is the median of its trials with min and max; contenders were measured in the same run, ` +
    "taking turns round by round. Uncontended, SQLite at FULL and contention trials each run on a fresh store (a fresh " +
    "SQLite file or PostgreSQL database); detection needs no store; growth uses one store per backend for all its " +
    "cells and rounds (see its notes); memory measures a fresh process per trial; catching up reads one filled " +
    "store per backend in every round; live latency and the appends against the release before the read side run " +
    "on a fresh store per trial; the service's sections run `concord serve` in a process of its own, one per " +
    "backend for the whole end-to-end latency section, a fresh one per trial for the idle subscribers, one per " +
    "server and backend for the reads and appends over HTTP, one per configuration and SQLite setting for the cost " +
    "of observability. Each " +
    "section says when it was " +
    "measured: `npm run bench -- --only SECTION` reruns one section into these results.",
    "",
    results.postgres === null
      ? "PostgreSQL was not available in this run: its figures are missing."
      : `The throwaway PostgreSQL cluster runs with \`${
        results.postgres.settings.join(" ")
      }\`: commits do not wait for the disk, so its figures measure round trips and CPU, not durability. Concord, ` +
        "the raw `pg` baseline and Emmett run on that same cluster with the same settings, so their ratios compare " +
        "like with like. SQLite runs in WAL mode with `synchronous = NORMAL` for Concord and the raw baseline in " +
        "the uncontended section and the one against the release before the read side (durable at checkpoints, not " +
        "at every commit), with `FULL` for both in " +
        "the `sqlite-full` section (a sync at every commit), and on the store's default elsewhere; the minimal " +
        "servers of the appends over HTTP say theirs; Emmett's SQLite store uses its own defaults.",
    "",
    ...targetsTable(targets),
    "### Cells",
    "",
    ...cellsTable(targets),
    ...results.sections.flatMap(sectionTable),
    fill(results, analysis)
  ].join("\n")
}

/** Writes both files; `warn` lists the analysis's placeholders these results lack (for a run of every section). */
export const write = (directory: string, results: Results, analysis: string, warn = true) => {
  if (warn) {
    for (const whole of unmatched(results, analysis)) console.error(`ANALYSIS.md: no figure for ${whole} in this run`)
  }
  // Render first: an analysis quoting a figure the results lack fails before anything is overwritten.
  const document = markdown(results, analysis)
  fs.mkdirSync(directory, { recursive: true })
  fs.writeFileSync(`${directory}/latest.json`, JSON.stringify(results, null, 2) + "\n")
  fs.writeFileSync(`${directory}/RESULTS.md`, document)
}
