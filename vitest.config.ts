import { defineConfig } from "vitest/config"

// `vitest run` at the root runs every package's tests: each project is the package's own vitest.config.ts, which names
// it (`--project @concord/core`) and merges vitest.shared.ts.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "docs/vitest.config.ts"],
    // A project's test files run one after another in one worker process instead of a fresh process each: a fresh
    // one spends seconds importing Effect and the packages again for every file. The pool reads this from the root
    // config only. The packages' modules are loaded once per worker and shared by its files (none keeps state a file
    // could see); each test file and the setup file still run afresh.
    isolate: false
  }
})
