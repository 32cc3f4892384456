import { FastCheck } from "effect"
import { beforeEach } from "vitest"

// CI runs every property with one fixed seed so a red run can be replayed; locally each run explores new cases.
// fast-check prints the seed and the shrunk counterexample of a failing property; FC_SEED=<seed> replays it.
const seed = process.env.FC_SEED !== undefined
  ? Number(process.env.FC_SEED)
  : process.env.CI === "true"
  ? 20261124
  : Date.now() ^ (Math.random() * 0x7fffffff)

FastCheck.configureGlobal({ seed, numRuns: 100 })

// Tests that run synchronously for long (the laws' power tests run thousands of cases in one step) would otherwise
// follow one another in microtasks, never letting the worker read the runner's answers to its progress reports:
// after 60 s of that the worker reports "Timeout calling onTaskUpdate" and the run fails. A turn of the event loop
// between tests lets the answers in.
beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)))
