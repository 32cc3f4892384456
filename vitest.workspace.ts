export default [
  "packages/core/vitest.config.ts",
  "packages/testing/vitest.config.ts",
  "packages/example-crm/vitest.config.ts",
  "packages/sql/vitest.config.ts",
  "packages/server/vitest.config.ts",
  "packages/bench/vitest.config.ts",
  "docs/vitest.config.ts"
]
