import { defineConfig } from "vitest/config"

// `vitest run` at the root runs every package's tests: each project is the package's own vitest.config.ts, which names
// it (`--project @concord/core`) and merges vitest.shared.ts.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "docs/vitest.config.ts"]
  }
})
