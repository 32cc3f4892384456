import { FastCheck } from "effect"
import { inject } from "vitest"

// CI runs every property with one fixed seed so a red run can be replayed; locally each run explores new cases.
// fast-check prints the seed and the shrunk counterexample of a failing property; FC_SEED=<seed> replays it.
const seed = process.env.FC_SEED !== undefined
  ? Number(process.env.FC_SEED)
  : process.env.CI === "true"
  ? 20261124
  : Date.now() ^ (Math.random() * 0x7fffffff)

FastCheck.configureGlobal({ seed, numRuns: 100 })

// PostgreSQL: each worker process has a cluster of its own (packages/sql/test/support/postgres.ts starts one per worker
// and provides them as `pgUrls`), and a test file's `inject("pgUrl")` is its worker's. Vitest gives no way to provide
// a value per worker, so the worker's copy of the provided values is set here, before the test file is loaded.
const pgUrls = inject("pgUrls")
if (pgUrls !== undefined) {
  const worker = (globalThis as { __vitest_worker__?: { providedContext?: Record<string, unknown> } }).__vitest_worker__
  if (worker?.providedContext === undefined) throw new Error("vitest's worker state has no provided values to set")
  const url = pgUrls[Number(process.env.VITEST_POOL_ID) - 1]
  if (url === undefined) {
    throw new Error(`no PostgreSQL cluster for worker ${process.env.VITEST_POOL_ID}: ${pgUrls.length} were started`)
  }
  worker.providedContext.pgUrl = url
}
