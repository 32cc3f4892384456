// Vitest global setup, shared by the projects with PostgreSQL suites: throwaway PostgreSQL clusters for them, one per
// worker process. With CI=true a missing server fails the run; locally the suites are skipped, and the warning names
// every one of them, from the project's own test/support/suites.ts (`postgresSuites`, the names its describe.skipIf
// calls use).
import { Postgres } from "@concord/test-postgres"
import { availableParallelism } from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** The cluster of the worker running the test file (vitest.setup.ts picks it from `pgUrls`). */
    readonly pgUrl: string | undefined
    /** A cluster per worker process, by worker number (VITEST_POOL_ID) from 1. */
    readonly pgUrls: ReadonlyArray<string> | undefined
  }
}

/**
 * The run's clusters, one per worker process: a PostgreSQL store reads only the events no running transaction can
 * precede, and that horizon is the whole cluster's, so two test files running at once on one cluster would hold back
 * each other's reads. Every project's global setup runs in the same vitest process: the first to get here starts them
 * and the others share them, each suite in tables, streams or databases of its own; the last project to tear down
 * stops them.
 */
interface Shared {
  readonly clusters: Promise<ReadonlyArray<Postgres.Cluster> | undefined>
  users: number
}

const sharedKey = Symbol.for("@concord/sql/test/postgres-clusters")
const holder = globalThis as { [sharedKey]?: Shared }

/** As many workers as the forks pool starts for this run: vitest's default is one fewer than the cores (one on CI). */
const workersOf = (project: TestProject): number => {
  const config = project.vitest.config
  const cores = availableParallelism()
  const byDefault = config.watch ? Math.max(Math.floor(cores / 2), 1) : Math.max(cores - 1, 1)
  return config.fileParallelism === false ? 1 : config.poolOptions?.forks?.maxForks ?? config.maxWorkers ?? byDefault
}

const startClusters = async (count: number): Promise<ReadonlyArray<Postgres.Cluster> | undefined> => {
  const clusters: Array<Postgres.Cluster> = []
  for (let i = 0; i < count; i++) {
    const cluster = await Postgres.start({ settings: ["-c fsync=off"] })
    if (cluster === undefined) return undefined
    clusters.push(cluster)
  }
  return clusters
}

export default async function setup(project: TestProject) {
  const shared = holder[sharedKey] ??= { clusters: startClusters(workersOf(project)), users: 0 }
  shared.users++
  const clusters = await shared.clusters
  if (clusters === undefined) {
    const { postgresSuites } = (await import(path.join(project.config.root, "test", "support", "suites.ts"))) as {
      readonly postgresSuites: Readonly<Record<string, string>>
    }
    const suites = Object.values(postgresSuites)
    if (process.env.CI === "true") {
      throw new Error(
        "PostgreSQL binaries are missing (Debian's postgresql package): the PostgreSQL suites must run in CI: " +
          suites.join("; ")
      )
    }
    console.warn(
      `\n!!! ${project.name}: no PostgreSQL binaries under /usr/lib/postgresql, so these suites are SKIPPED` +
        ` (install Debian's postgresql package to run them):\n` +
        suites.map((suite) => `!!!   - ${suite}\n`).join("")
    )
  }
  project.provide("pgUrl", clusters?.[0]?.url)
  project.provide("pgUrls", clusters?.map((cluster) => cluster.url))
  return () => {
    if (--shared.users > 0) return
    delete holder[sharedKey]
    for (const cluster of clusters ?? []) cluster.stop()
  }
}
