// The project's targets, each judged from the results on the 95% interval of its figure, cell by cell (see
// Verdict.ts): a target holds when every cell does, fails when any cell clearly fails, and is unclear otherwise, with
// the rerun that would likely decide it.
import { find, type Match, Missing, paired, type Results } from "./Figures.js"
import * as Verdict from "./Verdict.js"

/** One cell of a target: a batch size, a registry, a stream length at a lag. */
export interface Cell {
  readonly name: string
  readonly estimate: Verdict.Estimate | undefined
  /** For cells judged on a count rather than an interval (false rejections). */
  readonly value?: string
  readonly outcome: Verdict.Outcome
}

export interface Target {
  readonly target: string
  /** The section whose figures it reads: what `--only` reruns. */
  readonly section: string
  /** Undefined when this run did not measure it. */
  readonly outcome: Verdict.Outcome | undefined
  readonly measured: string
  readonly cells: ReadonlyArray<Cell>
  /** For an unclear verdict: what would likely decide it. */
  readonly remedy?: string
  readonly show: (value: number) => string
}

export const times = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(0)}x`
export const percent = (value: number) => `${Math.round(100 * value)}%`
const bytes = (value: number) => `${value.toFixed(2)} bytes`
const millis = (value: number) => `${value.toFixed(2)} ms`

/** One value, or the span of several ("1.9x–2.4x"). */
export const span = (values: ReadonlyArray<number>, show: (value: number) => string) => {
  const low = Math.min(...values)
  const high = Math.max(...values)
  return show(low) === show(high) ? show(low) : `${show(low)}–${show(high)}`
}

/** A center with its 95% interval: "1.13x (1.05x–1.21x)". */
export const withInterval = (estimate: Verdict.Estimate, show: (value: number) => string) =>
  Number.isFinite(estimate.high) && estimate.low !== Number.NEGATIVE_INFINITY
    ? `${show(estimate.center)} (${show(estimate.low)}–${show(estimate.high)})`
    : `${show(estimate.center)} (one trial: no interval)`

/** How far a center is inside the requirement, on its own scale; negative outside. The worst cell has the least. */
const slack = (estimate: Verdict.Estimate, requirement: Verdict.Requirement) => {
  const t = estimate.scale === "log" ? Math.log : (x: number) => x
  const c = t(estimate.center)
  switch (requirement._tag) {
    case "AtLeast":
      return c - t(requirement.value)
    case "AtMost":
    case "Below":
      return t(requirement.value) - c
    case "Within":
      return Math.min(c - t(requirement.low), t(requirement.high) - c)
  }
}

interface Spec {
  readonly target: string
  readonly requirement: Verdict.Requirement
  readonly show: (value: number) => string
  /** The cells with their estimates; throws `Missing` when this run lacks the rows. */
  readonly cells: () => ReadonlyArray<
    { readonly name: string; readonly section: string; readonly estimate: Verdict.Estimate }
  >
}

const remedyFor = (section: string, cells: ReadonlyArray<Verdict.Estimate>, requirement: Verdict.Requirement) => {
  const needed = cells.map((estimate) => Verdict.trialsToDecide(estimate, requirement))
  if (needed.some((n) => n === undefined)) {
    return "a cell's figure sits on the threshold: no number of trials is likely to decide it"
  }
  return `more trials: \`npm run bench -- --only ${section} --trials ${Math.max(...(needed as Array<number>))}\``
}

const judge = (spec: Spec): Target => {
  const base = { target: spec.target, show: spec.show }
  let measuredCells: ReturnType<Spec["cells"]>
  try {
    measuredCells = spec.cells()
  } catch (error) {
    if (!(error instanceof Missing)) throw error
    return { ...base, section: "", outcome: undefined, measured: "not measured in this run", cells: [] }
  }
  const cells = measuredCells.map((cell) => ({
    name: cell.name,
    estimate: cell.estimate,
    outcome: Verdict.judge(cell.estimate, spec.requirement)
  }))
  const outcome = Verdict.combine(cells.map((c) => c.outcome))
  const worst = [...cells].sort((a, b) => slack(a.estimate, spec.requirement) - slack(b.estimate, spec.requirement))[0]!
  const centers = cells.map((c) => c.estimate.center)
  const section = measuredCells[0]!.section
  const unclear = cells.filter((c) => c.outcome === "unclear").map((c) => c.estimate)
  return {
    ...base,
    section,
    outcome,
    cells,
    measured: cells.length === 1
      ? withInterval(worst.estimate, spec.show)
      : `${span(centers, spec.show)}; worst: ${worst.name}, ${withInterval(worst.estimate, spec.show)}`,
    ...(outcome === "unclear" ? { remedy: remedyFor(section, unclear, spec.requirement) } : {})
  }
}

/** A target over the trial-by-trial ratios of two patterns' rows; `label` names a cell by what the `*`s matched. */
const ratioCells = (
  results: Results,
  a: string,
  b: string,
  label: (parts: ReadonlyArray<string>) => string
) =>
() =>
  paired(results, a, b).map((p) => ({
    name: label(p.parts),
    section: p.section,
    estimate: Verdict.ofRatios(p.ratios)
  }))

const batch = ([size]: ReadonlyArray<string>) => `batch ${size}`

/**
 * Growth with the stream's length: each longer stream's median over the shortest stream's, at the same lag and in
 * the same round. Lags differ by design (a writer further behind has more events to check), so they are not
 * compared.
 */
const growthCells = (results: Results, backend: string) => () => {
  const cells = find(results, `${backend}: stream of * events, * behind`).map((m: Match) => {
    const [length, behind] = m.key.split("\u0000").map(Number)
    return { length: length!, behind: behind!, match: m }
  })
  const relative = cells.flatMap((cell) => {
    const shortest = cells.filter((c) => c.behind === cell.behind).sort((a, b) => a.length - b.length)[0]!
    if (shortest === cell) return []
    const ratios = cell.match.figure.samples.map((value, i) => value / shortest.match.figure.samples[i]!)
    return [{
      name: `${cell.length} events against ${shortest.length}, ${cell.behind} behind`,
      section: cell.match.section,
      estimate: Verdict.ofRatios(ratios)
    }]
  })
  if (relative.length === 0) throw new Missing(`${backend}: one stream length only`)
  return relative
}

/** Zero false rejections: a count in every trial of every cell, judged as it is (no interval: a count is exact). */
const falseRejections = (results: Results): Target => {
  const target = "Zero false rejections with the CRM registry (every trial of every cell)"
  try {
    const found = find(results, "K=*, * conflicting, Concord, CRM registry: false rejections")
    const cells = found.map((m) => ({
      name: m.figure.name.replace(/, Concord, CRM registry: false rejections$/, ""),
      estimate: undefined,
      value: `at most ${m.figure.max} in a trial`,
      outcome: m.figure.max === 0 ? "met" as const : "missed" as const
    }))
    const worst = Math.max(...found.map((m) => m.figure.max))
    return {
      target,
      section: found[0]!.section,
      outcome: worst === 0 ? "met" : "missed",
      measured: `at most ${worst} in a trial`,
      cells,
      show: String
    }
  } catch (error) {
    if (!(error instanceof Missing)) throw error
    return { target, section: "", outcome: undefined, measured: "not measured in this run", cells: [], show: String }
  }
}

/**
 * Live latency: each store's p99 per round (acknowledged → delivered) as plain values, judged like the bytes
 * allocated: on the interval of their mean, strictly below the bound.
 */
const latencyCells = (results: Results, backends: ReadonlyArray<string>) => () =>
  backends.flatMap((backend) =>
    find(results, `${backend}, * writers: p99 append acknowledged → delivered`).map((m) => ({
      name: `${backend}, ${m.key} writers`,
      section: m.section,
      estimate: Verdict.ofValues(m.figure.samples)
    }))
  )

/** The read side's targets: catching up, live delivery, and appends no slower than before it. */
const readSide = (results: Results): ReadonlyArray<Target> => [
  judge({
    target: "Catch-up: readAll ≥ 70% of a raw paged scan with the same driver",
    requirement: Verdict.atLeast(0.7),
    show: percent,
    cells: ratioCells(results, "*: Concord readAll", "*: raw scan", ([store]) => store!)
  }),
  judge({
    target: "Live delivery in-process, memory and SQLite: p99 under 5 ms from acknowledgement to subscriber",
    requirement: Verdict.below(5),
    show: millis,
    cells: latencyCells(results, ["memory", "SQLite"])
  }),
  judge({
    target: "Live delivery, PostgreSQL: p99 under 50 ms from acknowledgement to subscriber",
    requirement: Verdict.below(50),
    show: millis,
    cells: latencyCells(results, ["PostgreSQL"])
  }),
  judge({
    target: "Appends no slower than before the read side (≥ 90% of the release before it, same round)",
    requirement: Verdict.atLeast(0.9),
    show: percent,
    cells: ratioCells(results, "*: Concord now", "*: Concord before the read side", ([cell]) => cell!)
  })
]

/** The service's p99s per round (a writer's `200` → the SSE subscriber), plain values like the in-process ones. */
const sseCells = (results: Results, backend: string) => () =>
  find(results, `${backend} service, * writers: p99 append's 200 → SSE event`).map((m) => ({
    name: `${backend}, ${m.key} writers`,
    section: m.section,
    estimate: Verdict.ofValues(m.figure.samples)
  }))

/** The service as users run it, `concord serve` over HTTP: end-to-end delivery, and idle subscribers' memory. */
const service = (results: Results): ReadonlyArray<Target> => [
  ...([["SQLite", 50], ["PostgreSQL", 100]] as const).map(([backend, bound]) =>
    judge({
      target: `End-to-end through the service, ${backend}: p99 under ${bound} ms from an append's 200 at its ` +
        "writer to the SSE subscriber",
      requirement: Verdict.below(bound),
      show: millis,
      cells: sseCells(results, backend)
    })
  ),
  judge({
    target: "1,000 idle SSE subscribers: the service's RSS at most 200 MiB over idle (SQLite)",
    requirement: Verdict.atMost(200),
    show: (value) => `${value.toFixed(0)} MiB`,
    cells: () =>
      find(results, "service on SQLite, * idle SSE subscribers: RSS over idle").map((m) => ({
        name: `${m.key} subscribers`,
        section: m.section,
        estimate: Verdict.ofValues(m.figure.samples)
      }))
  })
]

/** Reads over HTTP: the service's pages per second over the minimal read server's, round by round. */
const httpReads = (results: Results): Target =>
  judge({
    target: "Reads over HTTP of 1,000-event pages ≥ 50% of a minimal node:http + better-sqlite3 server's pages/s",
    requirement: Verdict.atLeast(0.5),
    show: percent,
    cells: ratioCells(
      results,
      "HTTP reads, * connections: Concord service, pages/s",
      "HTTP reads, * connections: minimal node:http + better-sqlite3 server, pages/s",
      ([connections]) => `${connections} connections`
    )
  })

/**
 * Appends over HTTP on SQLite: the service's appends/s over a minimal server's, round by round, each at its own
 * connection count and bound. Against the server that syncs every commit, as the service's default does, group
 * commit should win outright; against the one that never syncs, the service keeps within its CPU floor.
 */
const serviceAppends = (results: Results): ReadonlyArray<Target> =>
  ([
    [10, 1, "synchronous = FULL", "the same durability"],
    [50, 1.5, "synchronous = FULL", "group commit against a sync per request"],
    [50, 0.5, "synchronous = NORMAL", "no sync per commit: the CPU floor"]
  ] as const).map(([connections, bound, setting, why]) => {
    const row = (server: string) => `Appends over HTTP, SQLite, ${connections} connections: ${server}, appends/s`
    return judge({
      target: `Appends over HTTP on SQLite, ${connections} connections: the service ≥ ${times(bound)} a minimal ` +
        `node:http + better-sqlite3 server at ${setting} (${why})`,
      requirement: Verdict.atLeast(bound),
      show: times,
      cells: ratioCells(
        results,
        row("Concord service"),
        row(`minimal node:http + better-sqlite3 server (${setting})`),
        () => `${connections} connections`
      )
    })
  })

/**
 * SQLite's store at `synchronous = FULL` against the raw driver's one transaction (and one sync) per append: with
 * concurrent writers group commit shares a sync among many appends; a lone writer pays the sync as the raw driver does.
 */
const sqliteFull = (results: Results): ReadonlyArray<Target> =>
  ([
    [8, 3, times, "8 concurrent writers: ≥ 3x the raw driver's one-transaction-per-append rate"],
    [1, 0.6, percent, "one writer: ≥ 60% of the raw driver's rate"]
  ] as const).map(([writers, bound, show, what]) => {
    const row = (contender: string) => `SQLite synchronous = FULL, ${writers} writer(s), batch 1: ${contender}`
    return judge({
      target: `SQLite at synchronous = FULL, single events, ${what}`,
      requirement: Verdict.atLeast(bound),
      show,
      cells: ratioCells(
        results,
        row("Concord layerSqlite"),
        row("raw better-sqlite3"),
        () => `${writers} writer(s)`
      )
    })
  })

/**
 * Observability on the append path: the service scraped every second, and the service exporting over OTLP, each at
 * least 95% of the plain service's appends/s in the same round, at every SQLite setting and connection count. The
 * configurations are named as Observability.ts names its rows (not imported: it would open a scratch folder).
 */
const observability = (results: Results): ReadonlyArray<Target> =>
  ([
    ["/metrics scraped every second", "`/metrics` scraped every second"],
    ["OTLP export to a sink", "OTLP export of traces (every request) and metrics"],
    ["OTLP export to a sink, 1 request in 10 traced", "OTLP export of traces (1 request in 10) and metrics"],
    ["OTLP export to a sink, 1 request in 100 traced", "OTLP export of traces (1 request in 100) and metrics"]
  ] as const).map(([configuration, what]) => {
    const row = (c: string) => `Observability, SQLite *, * connections: ${c}, appends/s`
    return judge({
      target: `Cost of ${what} on the append path at most 5% (≥ 95% of the plain service's appends/s, same round)`,
      requirement: Verdict.atLeast(0.95),
      show: percent,
      cells: ratioCells(
        results,
        row(configuration),
        row("defaults"),
        ([setting, connections]) => `SQLite ${setting}, ${connections} connections`
      )
    })
  })

export const targets = (results: Results): ReadonlyArray<Target> => [
  judge({
    target: "Detection within 2x of the baseline loop (baseline rate / Concord rate)",
    requirement: Verdict.atMost(2),
    show: times,
    cells: ratioCells(results, "baseline loop: *", "Concord detect: *", ([cell]) => cell!)
  }),
  // The smallest object V8 allocates is 16 bytes: under that per check, checks do not allocate.
  judge({
    target: "No allocation per check when nothing conflicts (under 16 bytes, V8's smallest object, per check)",
    requirement: Verdict.below(16),
    show: bytes,
    cells: () =>
      find(results, "bytes allocated per check when nothing conflicts*").map((m) => ({
        name: m.key === "" ? "without payload rules" : m.key.replace(/^, /, "with "),
        section: m.section,
        estimate: Verdict.ofValues(m.figure.samples)
      }))
  }),
  judge({
    target: "Memory store ≥ 2x Emmett's in-memory store",
    requirement: Verdict.atLeast(2),
    show: times,
    cells: ratioCells(
      results,
      "memory, batch *: Concord layerMemory",
      "memory, batch *: Emmett in-memory 0.42",
      batch
    )
  }),
  judge({
    target: "SQLite at synchronous = NORMAL ≥ 70% of the raw insert at the same setting",
    requirement: Verdict.atLeast(0.7),
    show: percent,
    cells: ratioCells(results, "SQLite, batch *: Concord layerSqlite", "SQLite, batch *: raw better-sqlite3", batch)
  }),
  ...sqliteFull(results),
  judge({
    target: "PostgreSQL ≥ 70% of raw at 8 connections",
    requirement: Verdict.atLeast(0.7),
    show: percent,
    cells: ratioCells(
      results,
      "PostgreSQL 8 writer(s), batch *: Concord layerPg",
      "PostgreSQL 8 writer(s), batch *: raw pg",
      batch
    )
  }),
  judge({
    target: "PostgreSQL ≥ 1.5x Emmett's PostgreSQL store",
    requirement: Verdict.atLeast(1.5),
    show: times,
    cells: ratioCells(
      results,
      "PostgreSQL * writer(s), batch *: Concord layerPg",
      "PostgreSQL * writer(s), batch *: Emmett PostgreSQL 0.42",
      ([writers, size]) => `${writers} writer(s), batch ${size}`
    )
  }),
  judge({
    target: "Commuting events (0% conflicting): first-try acceptance ≥ 3x plain optimistic concurrency",
    requirement: Verdict.atLeast(3),
    show: times,
    // Each trial of these rows is already the ratio of two runs of the same round.
    cells: () =>
      find(results, "K=*, 0% conflicting: first-try acceptance, Concord / plain").map((m) => ({
        name: `K=${m.key}`,
        section: m.section,
        estimate: Verdict.ofRatios(m.figure.samples)
      }))
  }),
  falseRejections(results),
  ...["SQLite", "PostgreSQL"].map((backend) =>
    judge({
      target: `${backend}: flat growth with the stream's length (±20% of the shortest stream, same round and lag)`,
      requirement: Verdict.within(0.8, 1.2),
      show: percent,
      cells: growthCells(results, backend)
    })
  ),
  ...readSide(results),
  ...service(results),
  httpReads(results),
  ...serviceAppends(results),
  ...observability(results)
]
