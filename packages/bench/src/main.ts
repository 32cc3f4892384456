// `npm run bench`: every workload at full size; writes results/latest.json and results/RESULTS.md and prints the
// report. Options:
//   --only SECTION[,SECTION]  run these sections only (detection, uncontended, sqlite-full, contention, growth,
//                             memory, catchup, latency, regression, sse, subscribers, http-reads, service-appends,
//                             observability)
//                             and merge them into the results already in the output folder, replacing those
//                             sections
//   --trials N                rounds per section instead of the size's own (for a rerun whose verdict was unclear)
//   --size full|reduced|smoke smaller sizes, for checking changes to the bench
//   --out DIR                 another output folder than results/ (then nothing published is overwritten)
//   --no-contenders           measure Concord and the raw drivers only: neither Emmett nor the release before the
//                             read side is installed or run
// The first run installs Emmett, the contender, into packages/bench/.contenders (see src/Contenders.ts), and unpacks
// the release before the read side there from git history (see src/Release.ts). The script
// runs with UV_THREADPOOL_SIZE=1: Emmett's SQLite store races its own COMMIT against a statement it leaves for the
// thread pool to finalize, and fails most trials with SQLITE_BUSY when the pool has more than one thread.
import * as fs from "node:fs"
import { parseArgs } from "node:util"
import * as Bench from "./Bench.js"
import * as Report from "./Report.js"
import { dropScratch } from "./Stores.js"

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "full" },
    out: { type: "string" },
    only: { type: "string", multiple: true },
    trials: { type: "string" },
    "no-contenders": { type: "boolean", default: false }
  }
})
const size = values.size as keyof typeof Bench.sizes
if (!(size in Bench.sizes)) throw new Error(`--size must be one of ${Object.keys(Bench.sizes).join(", ")}`)
const only = values.only?.flatMap((list) => list.split(",")).map((id) => id.trim())
for (const id of only ?? []) {
  if (!(Bench.sectionIds as ReadonlyArray<string>).includes(id)) {
    throw new Error(`--only takes sections among ${Bench.sectionIds.join(", ")}, not "${id}"`)
  }
}
const trials = values.trials === undefined ? undefined : Number(values.trials)
if (trials !== undefined && !(Number.isInteger(trials) && trials >= 1)) {
  throw new Error(`--trials must be a whole number of at least 1, not "${values.trials}"`)
}
const results = values.out ?? new URL("../results", import.meta.url).pathname
const previousFile = `${results}/latest.json`
const previous = only !== undefined && fs.existsSync(previousFile)
  ? JSON.parse(fs.readFileSync(previousFile, "utf8")) as Report.Results
  : undefined
// A rerun of some sections replaces them in the results there: figures of another size would not belong with them.
if (previous !== undefined && previous.run.size !== size) {
  throw new Error(
    `${previousFile} holds ${previous.run.size}-size results: rerun at --size ${previous.run.size}, or write ` +
      `these ${size}-size figures elsewhere with --out DIR`
  )
}
const analysis = fs.readFileSync(new URL("../ANALYSIS.md", import.meta.url), "utf8")
const started = performance.now()
const elapsed = () => (performance.now() - started) / 1000
const { postgres, sections } = await Bench.run(
  trials === undefined ? Bench.sizes[size] : Bench.withTrials(Bench.sizes[size], trials),
  {
    log: (line) => console.error(`[bench] ${line} (${elapsed().toFixed(0)} s)`),
    only: only as ReadonlyArray<Bench.SectionId> | undefined,
    contenders: values["no-contenders"] ? "none" : "install",
    sizeName: size
  }
)
const fresh = Report.make(sections, { size, seconds: elapsed() }, postgres)
const report = previous === undefined ? fresh : Report.merge(previous, fresh, Bench.sectionIds)
// A run of some sections into a fresh folder lacks the others' figures by design: no warning for those.
Report.write(results, report, analysis, report.sections.length === Bench.sectionIds.length)
dropScratch()
console.log(Report.markdown(report, ""))
