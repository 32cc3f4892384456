import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as path from "node:path"

const script = path.join(import.meta.dirname, "support", "withoutVitest.ts")

const runNode = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | string | null | undefined; readonly stdout: string; readonly stderr: string }>(
    (resolve) =>
      execFile(
        process.execPath,
        args,
        { cwd: path.join(import.meta.dirname, "..") },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : error.code, stdout, stderr })
      )
  )

describe("@concord/testing outside vitest", () => {
  it("a plain node program imports the index and runs the Laws and the Checker", async () => {
    const { code, stderr, stdout } = await runNode(["--conditions=@concord/source", "--import", "tsx", script])
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" })
    expect(stdout.trim().split("\n")).toEqual([
      "commutation, sound registry: holds",
      "commutation, too lenient registry: LawViolation",
      "outcomes: Acknowledged, Acknowledged, Rejected",
      "checker, the store's log: problems found: 0",
      "checker, a log that lost an event: problems found: 1"
    ])
  })
})
