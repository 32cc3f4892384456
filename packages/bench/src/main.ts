// `npm run bench`: every workload at full size; writes results/latest.json and results/RESULTS.md and prints the
// table. `npm run bench -- --size reduced --out /tmp/bench` runs a smaller size into another folder, for checking
// changes to the bench without overwriting the published results.
import * as fs from "node:fs"
import { parseArgs } from "node:util"
import * as Bench from "./Bench.js"
import * as Report from "./Report.js"
import { dropScratch } from "./Stores.js"

const { values } = parseArgs({
  options: { size: { type: "string", default: "full" }, out: { type: "string" } }
})
const size = values.size as keyof typeof Bench.sizes
if (!(size in Bench.sizes)) throw new Error(`--size must be one of ${Object.keys(Bench.sizes).join(", ")}`)
const results = values.out ?? new URL("../results", import.meta.url).pathname
const analysis = fs.readFileSync(new URL("../ANALYSIS.md", import.meta.url), "utf8")
const started = performance.now()
const elapsed = () => (performance.now() - started) / 1000
const { postgres, sections } = await Bench.run(Bench.sizes[size], {
  log: (line) => console.error(`[bench] ${line} (${elapsed().toFixed(0)} s)`)
})
const report = Report.make(sections, { size, seconds: elapsed() }, postgres)
Report.write(results, report, analysis)
dropScratch()
console.log(Report.markdown(report, ""))
