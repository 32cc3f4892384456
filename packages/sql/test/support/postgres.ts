// Vitest global setup, shared by the projects with PostgreSQL suites: a throwaway PostgreSQL cluster for them. With
// CI=true a missing server fails the run; locally the suites are skipped, and the warning names every one of them,
// from the project's own test/support/suites.ts (`postgresSuites`, the names its describe.skipIf calls use).
import { Postgres } from "@concord/test-postgres"
import * as path from "node:path"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    readonly pgUrl: string | undefined
  }
}

export default async function setup(project: TestProject) {
  const cluster = await Postgres.start({ settings: ["-c fsync=off"] })
  if (cluster === undefined) {
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
  project.provide("pgUrl", cluster?.url)
  return () => cluster?.stop()
}
