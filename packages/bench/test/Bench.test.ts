import { describe, expect, inject, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as Bench from "../src/Bench.js"
import * as Report from "../src/Report.js"

// Each workload once at a tiny size, so the benchmark cannot rot. No timing is asserted: only that every workload
// runs to the end, its own checks pass, and it reports figures. Emmett, the contender, is measured when the bench has
// installed it into its cache (`npm run bench` does); the test installs nothing.
describe("the benchmark", () => {
  it("runs every workload at smoke size and reports every section", async () => {
    const { postgres, sections } = await Bench.run(Bench.smoke, {
      pgUrl: inject("pgUrl"),
      contenders: "installed",
      sizeName: "smoke"
    })
    expect(sections.map((s) => s.id)).toEqual([...Bench.sectionIds])
    for (const section of sections) {
      expect(section.rows.length).toBeGreaterThan(0)
      expect(section.measured?.trials).toBe(1)
      for (const row of section.rows) {
        expect(Number.isFinite(row.median)).toBe(true)
        expect(row.samples).toHaveLength(1)
      }
    }
    // The whole report, the analysis's placeholders filled from these results, as `npm run bench` writes it.
    const analysis = fs.readFileSync(new URL("../ANALYSIS.md", import.meta.url), "utf8")
    const markdown = Report.markdown(Report.make(sections, { size: "smoke", seconds: 1 }, postgres), analysis)
    expect(markdown).toContain("## Conflict detection")
    expect(markdown).toContain("## Targets")
    expect(markdown).not.toContain("{{")
  }, 300_000)

  it("runs only the sections asked for", async () => {
    const { postgres, sections } = await Bench.run(Bench.withTrials(Bench.smoke, 2), {
      only: ["detection"],
      contenders: "installed"
    })
    expect(sections.map((s) => s.id)).toEqual(["detection"])
    expect(sections[0]!.rows.every((row) => row.samples.length === 2)).toBe(true)
    // No PostgreSQL section ran, so no cluster was started and none is reported.
    expect(postgres).toBeNull()
  }, 60_000)
})
