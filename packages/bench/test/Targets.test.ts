import { describe, expect, it } from "@effect/vitest"
import type { Results } from "../src/Figures.js"
import * as HttpReads from "../src/HttpReads.js"
import * as Latency from "../src/Latency.js"
import { summarize } from "../src/Measure.js"
import * as Observability from "../src/Observability.js"
import * as Regression from "../src/Regression.js"
import * as Report from "../src/Report.js"
import * as ServiceAppends from "../src/ServiceAppends.js"
import * as SqliteFull from "../src/SqliteFull.js"
import * as SseLatency from "../src/SseLatency.js"
import * as Subscribers from "../src/Subscribers.js"
import * as Targets from "../src/Targets.js"

// Results made up for the test: the verdict logic on synthetic figures, as the report computes it.
const results = (sections: Results["sections"]): Results => ({
  generatedAt: "2026-01-01T00:00:00.000Z",
  machine: { cpus: 2, node: "v20", platform: "test" },
  run: { size: "test", seconds: 1 },
  postgres: null,
  sections
})

const uncontended = (batches: Record<number, readonly [ReadonlyArray<number>, ReadonlyArray<number>]>) => ({
  id: "uncontended",
  title: "Uncontended appends",
  unit: "events/s",
  notes: "",
  rows: Object.entries(batches).flatMap(([batch, [concord, emmett]]) => [
    summarize(`memory, batch ${batch}: Concord layerMemory`, concord, "events/s"),
    summarize(`memory, batch ${batch}: Emmett in-memory 0.42`, emmett, "events/s")
  ])
})

const memoryTarget = (r: Results) => Targets.targets(r).find((t) => t.target.startsWith("Memory store"))!

describe("Targets", () => {
  it("a clear pass in every cell is met", () => {
    const target = memoryTarget(results([uncontended({
      10: [[300, 310, 290, 305, 295], [100, 101, 99, 100, 100]],
      100: [[500, 520, 480, 510, 490], [200, 205, 195, 200, 202]]
    })]))
    expect(target.outcome).toBe("met")
    expect(target.cells.map((c) => c.name)).toEqual(["batch 10", "batch 100"])
    expect(target.remedy).toBeUndefined()
  })

  it("one cell clearly short of the target makes it missed", () => {
    const target = memoryTarget(results([uncontended({
      1: [[110, 115, 105, 112, 108], [100, 100, 100, 100, 100]],
      10: [[300, 310, 290, 305, 295], [100, 101, 99, 100, 100]]
    })]))
    expect(target.outcome).toBe("missed")
    expect(target.measured).toContain("worst: batch 1, 1.10x")
  })

  it("a noisy cell near the threshold is unclear, with the rerun that would decide it", () => {
    const target = memoryTarget(results([uncontended({
      10: [[160, 340, 260, 200, 330], [100, 100, 100, 100, 100]]
    })]))
    expect(target.outcome).toBe("unclear")
    expect(target.remedy).toMatch(/npm run bench -- --only uncontended --trials \d+/)
  })

  it("ratios are taken per round: a drift both sides share does not widen the interval", () => {
    // The machine slows down over the run; Concord is 1.25x its contender in every round.
    const emmett = [100, 150, 200, 250, 300]
    const target = memoryTarget(results([uncontended({ 10: [emmett.map((e) => e * 2.5), emmett] })]))
    expect(target.outcome).toBe("met")
    const cell = target.cells[0]!.estimate!
    expect(cell.center).toBeCloseTo(2.5, 10)
    expect(cell.high - cell.low).toBeCloseTo(0, 10)
  })

  it("growth compares each longer stream with the shortest of the same round and lag", () => {
    const growth = (rows: Record<string, ReadonlyArray<number>>) => ({
      id: "growth",
      title: "Growth",
      unit: "ms",
      notes: "",
      rows: Object.entries(rows).map(([name, samples]) => summarize(`SQLite: ${name}`, samples, "ms"))
    })
    const flat = Targets.targets(results([growth({
      "stream of 10 events, 0 behind": [0.2, 0.3, 0.2, 0.25, 0.2],
      "stream of 1000 events, 0 behind": [0.21, 0.29, 0.2, 0.26, 0.2],
      "stream of 10 events, 1 behind": [0.5, 0.6, 0.5, 0.55, 0.5],
      "stream of 1000 events, 1 behind": [0.51, 0.6, 0.49, 0.55, 0.52]
    })])).find((t) => t.target.startsWith("SQLite: flat growth"))!
    expect(flat.outcome).toBe("met")
    expect(flat.cells.map((c) => c.name)).toEqual([
      "1000 events against 10, 0 behind",
      "1000 events against 10, 1 behind"
    ])
  })

  it("false rejections are counted, not estimated", () => {
    const contention = (max: number) => ({
      id: "contention",
      title: "Contention",
      unit: "mixed",
      notes: "",
      rows: [summarize("K=2, 0% conflicting, Concord, CRM registry: false rejections", [0, max, 0], "appends")]
    })
    const verdict = (max: number) =>
      Targets.targets(results([contention(max)])).find((t) => t.target.startsWith("Zero false"))!.outcome
    expect(verdict(0)).toBe("met")
    expect(verdict(1)).toBe("missed")
  })

  it("a target this run did not measure says so", () => {
    expect(memoryTarget(results([])).outcome).toBeUndefined()
  })
})

// The read side's targets read rows by the names the sections give them: built here by the sections' own names.
describe("the read side's targets", () => {
  const section = (id: string, rows: Record<string, ReadonlyArray<number>>) => ({
    id,
    title: id,
    unit: "x",
    notes: "",
    rows: Object.entries(rows).map(([name, samples]) => summarize(name, samples, "x"))
  })
  const target = (r: Results, prefix: string) => Targets.targets(r).find((t) => t.target.startsWith(prefix))!

  it("catch-up pairs each store's readAll with its raw scan, round by round", () => {
    const verdict = target(
      results([section("catchup", {
        "SQLite (better-sqlite3): Concord readAll": [80, 82, 78],
        "SQLite (better-sqlite3): raw scan": [100, 101, 99],
        "PostgreSQL (pg): Concord readAll": [50, 51, 49],
        "PostgreSQL (pg): raw scan": [100, 100, 100]
      })]),
      "Catch-up"
    )
    expect(verdict.cells.map((c) => [c.name, c.outcome])).toEqual([
      ["SQLite (better-sqlite3)", "met"],
      ["PostgreSQL (pg)", "missed"]
    ])
    expect(verdict.outcome).toBe("missed")
  })

  it("live latency judges each store's p99 per round against its own bound, p50 aside", () => {
    const latency = (memory: ReadonlyArray<number>, postgres: ReadonlyArray<number>) =>
      results([section("latency", {
        [Latency.rowName("memory", 8, "p50")]: [9, 9, 9],
        [Latency.rowName("memory", 8, "p99")]: memory,
        [Latency.rowName("SQLite", 8, "p99")]: [1, 1.2, 0.9],
        [Latency.rowName("PostgreSQL", 8, "p99")]: postgres
      })])
    const fast = latency([0.4, 0.5, 0.45], [20, 22, 21])
    expect(target(fast, "Live delivery in-process").cells.map((c) => c.name)).toEqual([
      "memory, 8 writers",
      "SQLite, 8 writers"
    ])
    expect(target(fast, "Live delivery in-process").outcome).toBe("met")
    expect(target(fast, "Live delivery, PostgreSQL").outcome).toBe("met")
    const slow = latency([6, 7, 6.5], [20, 90, 21])
    expect(target(slow, "Live delivery in-process").outcome).toBe("missed")
    expect(target(slow, "Live delivery, PostgreSQL").outcome).toBe("unclear")
  })

  it("appends are compared with the release before the read side cell by cell", () => {
    const verdict = target(
      results([section("regression", {
        [`memory, batch 1: ${Regression.current}`]: [95, 100, 105],
        [`memory, batch 1: ${Regression.previous}`]: [100, 100, 100],
        [`SQLite, batch 1: ${Regression.current}`]: [70, 72, 71],
        [`SQLite, batch 1: ${Regression.previous}`]: [100, 100, 100]
      })]),
      "Appends no slower"
    )
    expect(verdict.cells.map((c) => [c.name, c.outcome])).toEqual([
      ["memory, batch 1", "unclear"],
      ["SQLite, batch 1", "missed"]
    ])
  })
})

// The service's targets are absolute bounds, one per backend, on the rows the sections name.
describe("the service's targets", () => {
  const section = (id: string, rows: Record<string, ReadonlyArray<number>>) => ({
    id,
    title: id,
    unit: "ms",
    notes: "",
    rows: Object.entries(rows).map(([name, samples]) => summarize(name, samples, "ms"))
  })
  const target = (r: Results, prefix: string) => Targets.targets(r).find((t) => t.target.startsWith(prefix))!

  it("end-to-end latency judges each backend's p99 per round against its own bound, p50 and max aside", () => {
    const sse = (sqlite: ReadonlyArray<number>, postgres: ReadonlyArray<number>) =>
      results([section("sse", {
        [SseLatency.rowName("SQLite", 8, "p50")]: [70, 70, 70],
        [SseLatency.rowName("SQLite", 8, "p99")]: sqlite,
        [SseLatency.rowName("SQLite", 8, "max")]: [500, 500, 500],
        [SseLatency.rowName("PostgreSQL", 8, "p99")]: postgres
      })])
    // 60 ms would miss SQLite's bound and meet PostgreSQL's.
    const verdicts = sse([60, 62, 61], [60, 62, 61])
    expect(target(verdicts, "End-to-end through the service, SQLite").outcome).toBe("missed")
    expect(target(verdicts, "End-to-end through the service, PostgreSQL").outcome).toBe("met")
    expect(target(verdicts, "End-to-end through the service, PostgreSQL").cells.map((c) => c.name)).toEqual([
      "PostgreSQL, 8 writers"
    ])
    expect(target(sse([5, 12, 9], [20, 190, 21]), "End-to-end through the service, SQLite").outcome).toBe("met")
    expect(target(sse([5, 12, 9], [20, 190, 21]), "End-to-end through the service, PostgreSQL").outcome)
      .toBe("unclear")
  })

  it("idle subscribers judge the RSS over idle, not the RSS itself", () => {
    const subscribers = (increase: ReadonlyArray<number>) =>
      results([section("subscribers", {
        [Subscribers.rowName(1_000, "idle")]: [400, 400, 400],
        [Subscribers.rowName(1_000, "subscribed")]: increase.map((i) => 400 + i),
        [Subscribers.rowName(1_000, "increase")]: increase
      })])
    const verdict = target(subscribers([150, 140, 145]), "1,000 idle SSE subscribers")
    expect(verdict.outcome).toBe("met")
    expect(verdict.cells.map((c) => c.name)).toEqual(["1,000 subscribers"])
    expect(target(subscribers([700, 690, 705]), "1,000 idle SSE subscribers").outcome).toBe("missed")
  })

  it("reads over HTTP pair the service's pages/s with the minimal server's, round by round, per connection count", () => {
    const reads = (service: ReadonlyArray<number>) =>
      results([section("http-reads", {
        [HttpReads.rowName(10, "Concord service", "pages/s")]: service,
        [HttpReads.rowName(10, "Concord service", "p99 latency")]: [900, 900, 900],
        // The minimal server's rate drifts with the machine; the service's follows it in the same rounds.
        [HttpReads.rowName(10, "minimal node:http + better-sqlite3 server", "pages/s")]: [100, 200, 150],
        [HttpReads.rowName(50, "Concord service", "pages/s")]: [60, 60, 60],
        [HttpReads.rowName(50, "minimal node:http + better-sqlite3 server", "pages/s")]: [100, 100, 100]
      })])
    const met = target(reads([60, 120, 90]), "Reads over HTTP")
    expect(met.outcome).toBe("met")
    expect(met.cells.map((c) => c.name)).toEqual(["10 connections", "50 connections"])
    expect(target(reads([30, 60, 45]), "Reads over HTTP").outcome).toBe("missed")
  })
})

// The targets of durable appends read the rows the sections name: built here by the sections' own names.
describe("durable appends' targets", () => {
  const section = (id: string, unit: string, rows: Record<string, ReadonlyArray<number>>) => ({
    id,
    title: id,
    unit,
    notes: "",
    rows: Object.entries(rows).map(([name, samples]) => summarize(name, samples, unit))
  })
  const target = (r: Results, prefix: string) => Targets.targets(r).find((t) => t.target.startsWith(prefix))!
  const appends = (store: ServiceAppends.Store, connections: number, server: ServiceAppends.Server) =>
    ServiceAppends.rowName(store, connections, server, "appends/s")

  it("appends over HTTP judge each connection count against its own bound and baseline, round by round", () => {
    const service = (at10: ReadonlyArray<number>, at50: ReadonlyArray<number>) =>
      results([section("service-appends", "appends/s", {
        // The baselines drift with the machine; the service's rates are given as ratios of the same rounds.
        [appends("SQLite", 10, ServiceAppends.minimalFull)]: [1_000, 1_500, 2_000],
        [appends("SQLite", 10, ServiceAppends.concordService)]: at10.map((r, i) => r * [1_000, 1_500, 2_000][i]!),
        [appends("SQLite", 10, ServiceAppends.minimalNormal)]: [5_000, 5_000, 5_000],
        [ServiceAppends.rowName("SQLite", 10, ServiceAppends.concordService, "p99 latency")]: [9, 9, 9],
        [appends("SQLite", 50, ServiceAppends.minimalFull)]: [1_000, 1_000, 1_000],
        [appends("SQLite", 50, ServiceAppends.concordService)]: at50.map((r) => r * 1_000),
        [appends("SQLite", 50, ServiceAppends.minimalNormal)]: [4_000, 4_000, 4_000],
        // PostgreSQL's rows are reported without a target.
        [appends("PostgreSQL", 50, ServiceAppends.concordService)]: [100, 100, 100],
        [appends("PostgreSQL", 50, ServiceAppends.minimalPg)]: [1_000, 1_000, 1_000]
      })])
    // 1.2x the FULL baseline at both counts: enough at 10 connections, not at 50; 0.3x of NORMAL at 50.
    const mixed = service([1.2, 1.25, 1.15], [1.2, 1.25, 1.15])
    const full10 = target(mixed, "Appends over HTTP on SQLite, 10 connections")
    expect(full10.outcome).toBe("met")
    expect(full10.cells.map((c) => c.name)).toEqual(["10 connections"])
    expect(full10.cells[0]!.estimate!.center).toBeCloseTo(1.2, 1)
    const full50 = Targets.targets(mixed).filter((t) => t.target.startsWith("Appends over HTTP on SQLite, 50"))
    expect(full50.map((t) => [t.target.includes("FULL"), t.outcome])).toEqual([[true, "missed"], [false, "missed"]])
    // 2x FULL at 50 connections is 0.5x NORMAL: both met once the interval clears them.
    const fast = Targets.targets(service([1.2, 1.25, 1.15], [2.1, 2.2, 2.15]))
      .filter((t) => t.target.startsWith("Appends over HTTP on SQLite, 50"))
    expect(fast.map((t) => t.outcome)).toEqual(["met", "met"])
    expect(Targets.targets(mixed).some((t) => t.target.includes("PostgreSQL") && t.target.includes("HTTP")))
      .toBe(false)
  })

  it("SQLite at FULL pairs Concord with the raw driver per writer count, each against its own bound", () => {
    const full = (eight: ReadonlyArray<number>, one: ReadonlyArray<number>) =>
      results([section("sqlite-full", "events/s", {
        [SqliteFull.rowName(8, "Concord layerSqlite")]: eight,
        [SqliteFull.rowName(8, "raw better-sqlite3")]: [800, 900, 850],
        [SqliteFull.rowName(1, "Concord layerSqlite")]: one,
        [SqliteFull.rowName(1, "raw better-sqlite3")]: [800, 900, 850]
      })])
    // 3.5x with 8 writers and 65% with one: both met; 2x and 50%: both missed.
    const met = full([2_800, 3_150, 2_975], [520, 585, 552.5])
    expect(target(met, "SQLite at synchronous = FULL, single events, 8").outcome).toBe("met")
    expect(target(met, "SQLite at synchronous = FULL, single events, one").outcome).toBe("met")
    expect(target(met, "SQLite at synchronous = FULL, single events, one").measured).toMatch(/^65%/)
    const missed = full([1_600, 1_800, 1_700], [400, 450, 425])
    expect(target(missed, "SQLite at synchronous = FULL, single events, 8").outcome).toBe("missed")
    expect(target(missed, "SQLite at synchronous = FULL, single events, one").outcome).toBe("missed")
    // The NORMAL target reads other rows: not measured by this section.
    expect(target(met, "SQLite at synchronous = NORMAL").outcome).toBeUndefined()
  })
})

// The cost of observability: each observed service's rate over the plain one's of the same round, per cell.
describe("observability's targets", () => {
  const target = (r: Results, prefix: string) => Targets.targets(r).find((t) => t.target.startsWith(prefix))!
  const section = (scraped: ReadonlyArray<number>, otlp: ReadonlyArray<number>) => {
    // The plain service's rate drifts with the machine; the observed ones are given as ratios of the same rounds.
    const plain = [2_000, 3_000, 2_500, 2_200, 2_800]
    const rows = (["full", "normal"] as const).flatMap((synchronous) =>
      [10, 50].flatMap((connections) => {
        const name = (c: Observability.Configuration, figure: "appends/s" | "p99 latency" = "appends/s") =>
          Observability.rowName(synchronous, connections, c, figure)
        return [
          summarize(name(Observability.scraped), scraped.map((r, i) => r * plain[i]!), "appends/s"),
          summarize(name(Observability.plain), plain, "appends/s"),
          summarize(name(Observability.plain, "p99 latency"), [1, 1, 1, 1, 1], "ms"),
          summarize(name(Observability.otlp), otlp.map((r, i) => r * plain[i]!), "appends/s"),
          summarize(Observability.ratioName(synchronous, connections, Observability.otlp), otlp, "x"),
          // Sampled, it costs what scraping does here.
          summarize(name(Observability.otlpSampled), scraped.map((r, i) => r * plain[i]!), "appends/s")
        ]
      })
    )
    return results([{ id: "observability", title: "observability", unit: "appends/s", notes: "", rows }])
  }

  it("judges each observed configuration against 95% of the plain service, round by round, in every cell", () => {
    const verdicts = section([0.99, 1.01, 0.98, 1, 0.99], [0.8, 0.82, 0.79, 0.81, 0.8])
    const scraped = target(verdicts, "Cost of `/metrics` scraped")
    expect(scraped.outcome).toBe("met")
    expect(scraped.cells.map((c) => c.name)).toEqual([
      "SQLite FULL, 10 connections",
      "SQLite FULL, 50 connections",
      "SQLite NORMAL, 10 connections",
      "SQLite NORMAL, 50 connections"
    ])
    expect(scraped.cells[0]!.estimate!.center).toBeCloseTo(0.994, 2)
    const exported = target(verdicts, "Cost of OTLP export of traces (every request)")
    expect(exported.outcome).toBe("missed")
    expect(exported.measured).toMatch(/^80%/)
    const sampled = target(verdicts, "Cost of OTLP export of traces (1 request in 10)")
    expect(sampled.outcome).toBe("met")
    expect(sampled.cells).toHaveLength(4)
    // 96% to 97% of the plain rate clears 95%; 93% to 94% does not.
    expect(
      target(section([0.96, 0.97, 0.96, 0.97, 0.96], [0.93, 0.94, 0.93, 0.94, 0.93]), "Cost of `/metrics`").outcome
    )
      .toBe("met")
    expect(target(section([0.96, 0.97, 0.96, 0.97, 0.96], [0.93, 0.94, 0.93, 0.94, 0.93]), "Cost of OTLP").outcome)
      .toBe("missed")
  })

  it("is not measured when the section did not run", () => {
    expect(target(results([]), "Cost of OTLP export").outcome).toBeUndefined()
  })
})

describe("Report.merge", () => {
  it("replaces the sections rerun and keeps the others, in the usual order", () => {
    const section = (id: string, value: number) => ({
      id,
      title: id,
      unit: "x",
      notes: "",
      rows: [summarize(`${id} row`, [value], "x")]
    })
    const previous = { ...results([section("detection", 1), section("growth", 1)]), postgres: { settings: ["a"] } }
    const merged = Report.merge(previous, results([section("growth", 2)]), ["detection", "growth"])
    expect(merged.sections.map((s) => [s.id, s.rows[0]!.median])).toEqual([["detection", 1], ["growth", 2]])
    expect(merged.postgres).toEqual({ settings: ["a"] })
  })
})
