// `npm run bench:report`: renders results/RESULTS.md again from results/latest.json and ANALYSIS.md, without
// measuring anything (for when the analysis is written after a run).
import * as fs from "node:fs"
import * as Report from "./Report.js"

const results = new URL("../results", import.meta.url).pathname
const report = JSON.parse(fs.readFileSync(`${results}/latest.json`, "utf8")) as Report.Results
Report.write(results, report, fs.readFileSync(new URL("../ANALYSIS.md", import.meta.url), "utf8"))
