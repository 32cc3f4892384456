// Vitest global setup: a throwaway PostgreSQL cluster for the PostgreSQL suites. With CI=true a missing server
// fails the run; locally the suites are skipped, and the warning names every one of them.
// The module alone: the package index pulls in vitest, which a global setup must not import.
import * as Postgres from "@concord/testing/Postgres"
import type { TestProject } from "vitest/node"
import { postgresSuites } from "./suites.js"

declare module "vitest" {
  export interface ProvidedContext {
    readonly pgUrl: string | undefined
  }
}

/** The global setup of a project whose PostgreSQL suites are `suites` (their describe names). */
export const setupFor = (suites: ReadonlyArray<string>) => async (project: TestProject) => {
  const cluster = await Postgres.start({ settings: ["-c fsync=off"] })
  if (cluster === undefined) {
    if (process.env.CI === "true") {
      throw new Error(
        "PostgreSQL binaries are missing (Debian's postgresql package): the PostgreSQL suites must run in CI"
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

export default setupFor(Object.values(postgresSuites))
