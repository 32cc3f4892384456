// `npm run report` (in this workspace): renders results/RESULTS.md again from results/latest.json and ANALYSIS.md,
// without measuring anything, for when the analysis is written after a run. `--results DIR` renders another folder.
import * as fs from "node:fs"
import { parseArgs } from "node:util"
import * as Report from "./Report.js"

const { values } = parseArgs({ options: { results: { type: "string" } } })
const results = values.results ?? new URL("../results", import.meta.url).pathname
const report = JSON.parse(fs.readFileSync(`${results}/latest.json`, "utf8")) as Report.Results
// The targets pair trials round by round: results written before the figures kept their trials cannot be judged.
if (report.sections.some((section) => section.rows.some((row) => !Array.isArray(row.samples)))) {
  throw new Error(`${results}/latest.json keeps no per-trial figures (written by an older bench): run npm run bench`)
}
Report.write(results, report, fs.readFileSync(new URL("../ANALYSIS.md", import.meta.url), "utf8"))
