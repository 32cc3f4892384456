export default [
  "packages/core/vitest.config.ts",
  "packages/example-crm/vitest.config.ts"
]
