// `npm run bench`: every workload at full size; writes results/latest.json and results/RESULTS.md and prints the
// table.
import * as fs from "node:fs"
import * as Bench from "./Bench.js"
import * as Report from "./Report.js"
import { dropScratch } from "./Stores.js"

const results = new URL("../results", import.meta.url).pathname
const analysis = fs.readFileSync(new URL("../ANALYSIS.md", import.meta.url), "utf8")
const started = performance.now()
const sections = await Bench.run(Bench.full, {
  log: (line) => console.error(`[bench] ${line} (${((performance.now() - started) / 1000).toFixed(0)} s)`)
})
const report = Report.make(sections)
Report.write(results, report, analysis)
dropScratch()
console.log(Report.markdown(report, ""))
