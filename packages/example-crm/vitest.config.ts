import { defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../vitest.shared.js"

export default mergeConfig(
  shared,
  defineProject({ test: { name: "@concord/example-crm", globalSetup: ["../sql/test/support/postgres.ts"] } })
)
