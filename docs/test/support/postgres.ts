// Vitest global setup: a throwaway PostgreSQL cluster for the examples that run on PostgreSQL. With CI=true a missing
// server fails the run; locally those examples are skipped, loudly.
// The module alone: the package index pulls in vitest, which a global setup must not import.
import * as Postgres from "@concord/testing/Postgres"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    readonly pgUrl: string | undefined
  }
}

export default async function setup(project: TestProject) {
  const cluster = await Postgres.start({ settings: ["-c fsync=off"] })
  if (cluster === undefined) {
    if (process.env.CI === "true") {
      throw new Error(
        "PostgreSQL binaries are missing (Debian's postgresql package): the docs' PostgreSQL examples must run in CI"
      )
    }
    console.warn(
      "\n!!! SKIPPED: the docs' PostgreSQL examples. No PostgreSQL binaries under /usr/lib/postgresql;" +
        " install Debian's postgresql package to run them. !!!\n"
    )
  }
  project.provide("pgUrl", cluster?.url)
  return () => cluster?.stop()
}
