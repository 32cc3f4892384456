import { FastCheck } from "effect"

// CI runs every property with one fixed seed so a red run can be replayed; locally each run explores new cases.
// fast-check prints the seed and the shrunk counterexample of a failing property; FC_SEED=<seed> replays it.
const seed = process.env.FC_SEED !== undefined
  ? Number(process.env.FC_SEED)
  : process.env.CI === "true"
  ? 20261124
  : Date.now() ^ (Math.random() * 0x7fffffff)

FastCheck.configureGlobal({ seed, numRuns: 100 })
