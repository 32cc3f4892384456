// The whole benchmark: every workload at a size, in one run.
import { Postgres } from "@concord/test-postgres"
import * as Contention from "./Contention.js"
import * as Detection from "./Detection.js"
import * as Growth from "./Growth.js"
import type { Section } from "./Measure.js"
import * as Memory from "./Memory.js"
import type * as Report from "./Report.js"
import * as Uncontended from "./Uncontended.js"

export interface Size {
  readonly detection: Detection.DetectionSize
  readonly uncontended: Uncontended.UncontendedSize
  readonly contention: Contention.ContentionSize
  readonly growth: Growth.GrowthSize
  readonly memory: Memory.MemorySize
}

export const full: Size = {
  detection: { types: [10, 100, 1_000], deltas: [1, 10, 100, 1_000], trials: 5, millis: 150 },
  uncontended: {
    batches: [1, 10, 100],
    streams: 200,
    events: { memory: 20_000, sqlite: 5_000, emmettSqlite: 500, pg: 2_000 },
    trials: 5
  },
  contention: { writers: [2, 8, 32], conflicting: [0, 0.1, 0.5], commands: 240, perWriter: 8, trials: 5 },
  growth: { lengths: [10, 10_000, 1_000_000], behind: [0, 1, 10, 100], appends: 40, trials: 5 },
  memory: { events: 1_000_000, serverSeconds: 3, trials: 5 }
}

/** Each workload once, at a tiny size: what the smoke test runs so the benchmark cannot rot. */
export const smoke: Size = {
  detection: { types: [10], deltas: [10], trials: 1, millis: 5 },
  uncontended: { batches: [10], streams: 4, events: { memory: 40, sqlite: 40, emmettSqlite: 20, pg: 40 }, trials: 1 },
  contention: { writers: [2], conflicting: [0.5], commands: 6, perWriter: 3, trials: 1 },
  growth: { lengths: [10], behind: [0, 2], appends: 2, trials: 1 },
  memory: { events: 1_000, serverSeconds: 1, trials: 1 }
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
  contention: { writers: [2, 32], conflicting: [0, 0.5], commands: 120, perWriter: 4, trials: 5 },
  growth: { lengths: [10, 100_000], behind: [0, 100], appends: 10, trials: 5 },
  memory: { events: 100_000, serverSeconds: 1, trials: 5 }
}

export const sizes = { full, reduced, smoke } as const

// Commits need not wait for the disk on a throwaway cluster; the report says so next to the figures.
const postgresSettings = ["-c fsync=off"]

export const run = async (
  size: Size,
  options: { readonly pgUrl?: string | undefined; readonly log?: (line: string) => void } = {}
): Promise<{ readonly sections: ReadonlyArray<Section>; readonly postgres: Report.Results["postgres"] }> => {
  const log = options.log ?? (() => {})
  const cluster = options.pgUrl === undefined ? await Postgres.start({ settings: postgresSettings }) : undefined
  const pgUrl = options.pgUrl ?? cluster?.url
  if (pgUrl === undefined) log("PostgreSQL is not installed: its figures are skipped")
  try {
    const sections: Array<Section> = []
    log("detection")
    sections.push(await Detection.run(size.detection))
    log("uncontended appends")
    sections.push(await Uncontended.run(size.uncontended, pgUrl))
    log("contention")
    sections.push(await Contention.run(size.contention))
    log("growth")
    sections.push(await Growth.run(size.growth, pgUrl))
    log("memory")
    sections.push(await Memory.run(size.memory))
    // A cluster given by the caller (the tests' shared one) is started with the same settings.
    return { sections, postgres: pgUrl === undefined ? null : { settings: postgresSettings } }
  } finally {
    cluster?.stop()
  }
}
