// The whole benchmark: every workload at a size, or the sections asked for, in one run.
import { Postgres } from "@concord/test-postgres"
import * as CatchUp from "./CatchUp.js"
import * as Contenders from "./Contenders.js"
import * as Contention from "./Contention.js"
import * as Detection from "./Detection.js"
import * as Growth from "./Growth.js"
import * as HttpReads from "./HttpReads.js"
import * as Latency from "./Latency.js"
import type { Section } from "./Measure.js"
import * as Memory from "./Memory.js"
import * as Observability from "./Observability.js"
import * as Regression from "./Regression.js"
import * as Release from "./Release.js"
import type * as Report from "./Report.js"
import * as ServiceAppends from "./ServiceAppends.js"
import * as SqliteFull from "./SqliteFull.js"
import * as SseLatency from "./SseLatency.js"
import * as Subscribers from "./Subscribers.js"
import * as Uncontended from "./Uncontended.js"

export interface Size {
  readonly detection: Detection.DetectionSize
  readonly uncontended: Uncontended.UncontendedSize
  readonly "sqlite-full": SqliteFull.SqliteFullSize
  readonly contention: Contention.ContentionSize
  readonly growth: Growth.GrowthSize
  readonly memory: Memory.MemorySize
  readonly catchup: CatchUp.CatchUpSize
  readonly latency: Latency.LatencySize
  readonly regression: Regression.RegressionSize
  readonly sse: SseLatency.SseSize
  readonly subscribers: Subscribers.SubscribersSize
  readonly "http-reads": HttpReads.HttpReadsSize
  readonly "service-appends": ServiceAppends.ServiceAppendsSize
  readonly observability: Observability.ObservabilitySize
}

/**
 * The published size. Trials are rounds in which every contender runs once; their number is set per section so that
 * the spread of the ratios the targets read is small next to the margins they are judged on (see ANALYSIS.md), and
 * the whole run stays under about ten minutes on two cores.
 */
export const full: Size = {
  detection: { types: [10, 100, 1_000], deltas: [1, 10, 100, 1_000], trials: 10, millis: 100 },
  uncontended: {
    batches: [1, 10, 100],
    streams: 200,
    events: { memory: 20_000, sqlite: 4_000, emmettSqlite: 400, pg: 1_500 },
    trials: 7
  },
  "sqlite-full": { writers: [1, 8], streams: 200, events: 1_500, trials: 7 },
  contention: { writers: [2, 8, 32], conflicting: [0, 0.1, 0.5], commands: 240, perWriter: 8, trials: 5 },
  growth: { lengths: [10, 10_000, 1_000_000], behind: [0, 1, 10, 100], appends: 30, trials: 7 },
  memory: { events: 1_000_000, serverSeconds: 3, trials: 3 },
  catchup: { events: { sqlite: 100_000, pg: 50_000 }, streams: 100, trials: 7 },
  latency: { writers: 8, appends: 250, pauseMillis: 2, trials: 7 },
  regression: {
    batches: [1, 100],
    pgWriters: [1, 8],
    streams: 200,
    events: { memory: 20_000, sqlite: 4_000, pg: 1_500 },
    trials: 7
  },
  sse: { writers: 8, appends: 100, pauseMillis: 2, trials: 7 },
  subscribers: { subscribers: 1_000, trials: 3 },
  "http-reads": { connections: [10, 50], events: 1_000, pages: 400, trials: 5 },
  "service-appends": { connections: [10, 50], appends: 2_000, trials: 7 },
  observability: { synchronous: ["full", "normal"], connections: [10, 50], appends: 2_000, trials: 7 }
}

/** Each workload once, at a tiny size: what the smoke test runs so the benchmark cannot rot. */
export const smoke: Size = {
  detection: { types: [10], deltas: [10], trials: 1, millis: 5 },
  uncontended: { batches: [10], streams: 4, events: { memory: 40, sqlite: 40, emmettSqlite: 20, pg: 40 }, trials: 1 },
  "sqlite-full": { writers: [2], streams: 4, events: 20, trials: 1 },
  contention: { writers: [2], conflicting: [0.5], commands: 6, perWriter: 3, trials: 1 },
  growth: { lengths: [10, 20], behind: [0, 2], appends: 2, trials: 1 },
  memory: { events: 1_000, serverSeconds: 1, trials: 1 },
  // More than two pages of the log, so that paging is exercised.
  catchup: { events: { sqlite: 2_500, pg: 2_500 }, streams: 4, trials: 1 },
  latency: { writers: 2, appends: 5, pauseMillis: 1, trials: 1 },
  regression: { batches: [10], pgWriters: [2], streams: 4, events: { memory: 40, sqlite: 40, pg: 40 }, trials: 1 },
  sse: { writers: 2, appends: 5, pauseMillis: 1, trials: 1 },
  subscribers: { subscribers: 20, trials: 1 },
  "http-reads": { connections: [2], events: 20, pages: 6, trials: 1 },
  "service-appends": { connections: [2], appends: 20, trials: 1 },
  // One setting: its four processes (three services and the sink) are most of the section's time.
  observability: { synchronous: ["normal"], connections: [2], appends: 20, trials: 1 }
}

/** Reduced: every workload and every contender, fewer and smaller cells, for checking changes to the bench quickly. */
export const reduced: Size = {
  detection: { types: [10, 1_000], deltas: [1, 100], trials: 5, millis: 40 },
  uncontended: {
    batches: [1, 100],
    streams: 50,
    events: { memory: 4_000, sqlite: 1_000, emmettSqlite: 100, pg: 400 },
    trials: 5
  },
  "sqlite-full": { writers: [1, 8], streams: 50, events: 500, trials: 5 },
  contention: { writers: [2, 32], conflicting: [0, 0.5], commands: 120, perWriter: 4, trials: 5 },
  growth: { lengths: [10, 100_000], behind: [0, 100], appends: 10, trials: 5 },
  memory: { events: 100_000, serverSeconds: 1, trials: 3 },
  catchup: { events: { sqlite: 20_000, pg: 10_000 }, streams: 50, trials: 5 },
  latency: { writers: 8, appends: 100, pauseMillis: 2, trials: 5 },
  regression: {
    batches: [1, 100],
    pgWriters: [8],
    streams: 50,
    events: { memory: 4_000, sqlite: 1_000, pg: 400 },
    trials: 5
  },
  sse: { writers: 8, appends: 60, pauseMillis: 2, trials: 5 },
  subscribers: { subscribers: 1_000, trials: 2 },
  "http-reads": { connections: [10, 50], events: 1_000, pages: 150, trials: 3 },
  "service-appends": { connections: [10, 50], appends: 1_000, trials: 3 },
  observability: { synchronous: ["full", "normal"], connections: [10, 50], appends: 1_000, trials: 3 }
}

export const sizes = { full, reduced, smoke } as const

/** The sections in the order they run and are reported. */
export const sectionIds = [
  "detection",
  "uncontended",
  "sqlite-full",
  "contention",
  "growth",
  "memory",
  "catchup",
  "latency",
  "regression",
  "sse",
  "subscribers",
  "http-reads",
  "service-appends",
  "observability"
] as const

export type SectionId = typeof sectionIds[number]

/** The contenders each section compares with, installed (or not) before it runs. */
const contendersOf: Record<SectionId, ReadonlyArray<Contenders.Name>> = {
  detection: [],
  uncontended: ["emmett", "emmett-sqlite"],
  "sqlite-full": [],
  contention: ["emmett"],
  growth: [],
  memory: [],
  catchup: [],
  latency: [],
  // The release before the read side is loaded apart (Release.ts): it is built from git history, not installed.
  regression: [],
  sse: [],
  subscribers: [],
  "http-reads": [],
  "service-appends": [],
  observability: []
}

/** `size` with every section's trials set to `trials`. */
export const withTrials = (size: Size, trials: number): Size => ({
  detection: { ...size.detection, trials },
  uncontended: { ...size.uncontended, trials },
  "sqlite-full": { ...size["sqlite-full"], trials },
  contention: { ...size.contention, trials },
  growth: { ...size.growth, trials },
  memory: { ...size.memory, trials },
  catchup: { ...size.catchup, trials },
  latency: { ...size.latency, trials },
  regression: { ...size.regression, trials },
  sse: { ...size.sse, trials },
  subscribers: { ...size.subscribers, trials },
  "http-reads": { ...size["http-reads"], trials },
  "service-appends": { ...size["service-appends"], trials },
  observability: { ...size.observability, trials }
})

// Commits need not wait for the disk on a throwaway cluster; the report says so next to the figures.
const postgresSettings = ["-c fsync=off"]

export interface Options {
  readonly pgUrl?: string | undefined
  readonly log?: (line: string) => void
  /** The sections to run (all by default). */
  readonly only?: ReadonlyArray<SectionId> | undefined
  /**
   * Whether to install Emmett and unpack the release before the read side, use them only if already there, or leave
   * them out (see Contenders.ts and Release.ts).
   */
  readonly contenders?: Contenders.Mode
  /** Recorded with each section: the size's name. */
  readonly sizeName?: string
}

export const run = async (
  size: Size,
  options: Options = {}
): Promise<{ readonly sections: ReadonlyArray<Section>; readonly postgres: Report.Results["postgres"] }> => {
  const log = options.log ?? (() => {})
  const only = options.only ?? sectionIds
  const contenders = await Contenders.load(
    options.contenders ?? "install",
    [...new Set(only.flatMap((id) => contendersOf[id]))],
    log
  )
  const release = only.includes("regression") ? await Release.load(options.contenders ?? "install", log) : undefined
  const needsPostgres = ["uncontended", "growth", "catchup", "latency", "regression", "sse", "service-appends"].some((
    id
  ) => only.includes(id as SectionId))
  const cluster = options.pgUrl === undefined && needsPostgres
    ? await Postgres.start({ settings: postgresSettings })
    : undefined
  const pgUrl = options.pgUrl ?? cluster?.url
  if (pgUrl === undefined && needsPostgres) log("PostgreSQL is not installed: its figures are skipped")
  const workloads: Record<SectionId, () => Promise<Section>> = {
    detection: () => Detection.run(size.detection),
    uncontended: () => Uncontended.run(size.uncontended, pgUrl, contenders),
    "sqlite-full": () => SqliteFull.run(size["sqlite-full"]),
    contention: () => Contention.run(size.contention, contenders.emmett),
    growth: () => Growth.run(size.growth, pgUrl),
    memory: () => Memory.run(size.memory),
    catchup: () => CatchUp.run(size.catchup, pgUrl),
    latency: () => Latency.run(size.latency, pgUrl),
    regression: () => Regression.run(size.regression, pgUrl, release),
    sse: () => SseLatency.run(size.sse, pgUrl),
    subscribers: () => Subscribers.run(size.subscribers),
    "http-reads": () => HttpReads.run(size["http-reads"]),
    "service-appends": () => ServiceAppends.run(size["service-appends"], pgUrl),
    observability: () => Observability.run(size.observability)
  }
  try {
    const sections: Array<Section> = []
    for (const id of sectionIds.filter((id) => only.includes(id))) {
      log(id)
      const started = performance.now()
      const section = await workloads[id]()
      sections.push({
        ...section,
        measured: {
          at: new Date().toISOString(),
          size: options.sizeName ?? "custom",
          trials: size[id].trials,
          seconds: (performance.now() - started) / 1000
        }
      })
    }
    // A cluster given by the caller (the tests' shared one) is started with the same settings.
    return { sections, postgres: pgUrl === undefined ? null : { settings: postgresSettings } }
  } finally {
    cluster?.stop()
  }
}
